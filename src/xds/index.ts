// Public surface of the xds module (config sources feeding ProxyState): the local YAML config, the
// embedded example, the WDS codec, the WaypointConfig codec, the delta ADS messages and client, and the merger of both sources.

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
export { protoRoot, protoType, protoDir, ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, WAYPOINT_CONFIG_TYPE_URL, DELTA_ADS_PATH } from './proto-root.js';
export { encodeWaypointConfig, decodeWaypointConfig, waypointResourceName } from './waypoint-codec.js';
export {
  encodeDeltaRequest,
  decodeDeltaRequest,
  encodeDeltaResponse,
  decodeDeltaResponse,
  type AdsNode,
  type AdsStatus,
  type DeltaRequest,
  type DeltaResponse,
  type DeltaResource,
} from './delta-ads-messages.js';
export { adsNode, adsNodeId, type AdsNodeInputs, type AdsNodeType } from './ads-node.js';
export { XdsClient, XDS_CONNECT_TIMEOUT_MS, type XdsClientOptions, type XdsClientMetrics, type XdsClientDump, type XdsConnectionState } from './xds-client.js';
export { nextReconnect, isRotation, XDS_INITIAL_BACKOFF_MS, XDS_MAX_BACKOFF_MS, type TerminationReason, type StreamEnd, type ReconnectDecision, type BackoffLimits } from './xds-reconnect.js';
export { XdsResourceStore, SUBSCRIBED_TYPES, nackMessage, type RejectedResource, type ResponseOutcome } from './xds-resource-store.js';
export { SnapshotMerger } from './snapshot-merger.js';
export { NamedResourceStore, type NamedResourceType } from './named-resources.js';
