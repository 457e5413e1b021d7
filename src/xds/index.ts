// Public surface of the xds module: config sources that feed ProxyState (so far the local YAML config,
// ztunnel LOCAL_XDS_PATH / LOCAL_XDS format, and the embedded quick-start example) and the xDS proto schema.

export { parseLocalConfig, type ParsedLocalConfig } from './local-config.js';
export { LocalConfigSource, type LocalConfigSourceOptions, type LocalConfigSourceEvents } from './local-config-source.js';
export { EMBEDDED_EXAMPLE_YAML } from './embedded-example.js';
export { defaultWorkloadUid } from './local-workload.js';
export { protoRoot, protoType, protoDir, ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, DELTA_ADS_PATH } from './proto-root.js';
