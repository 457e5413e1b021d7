// Public surface of the xds module (config sources that feed ProxyState): the local YAML config
// (ztunnel LOCAL_XDS_PATH / LOCAL_XDS format), the embedded example, and the WDS codec of delta ADS.

export { parseLocalConfig, type ParsedLocalConfig } from './local-config.js';
export { LocalConfigSource, type LocalConfigSourceOptions, type LocalConfigSourceEvents } from './local-config-source.js';
export { EMBEDDED_EXAMPLE_YAML } from './embedded-example.js';
export { defaultWorkloadUid } from './local-workload.js';
export {
  encodeAddress,
  decodeAddress,
  encodeAuthorization,
  decodeAuthorization,
  addressResourceName,
  workloadResourceName,
  serviceResourceName,
  authorizationResourceName,
  type DecodedAddress,
} from './wds-codec.js';
export { NETNS_EXTENSION, STRING_VALUE_TYPE_URL } from './wds-workload-codec.js';
export { protoRoot, protoType, protoDir, ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, DELTA_ADS_PATH } from './proto-root.js';
