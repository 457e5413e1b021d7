// Public surface of the HBONE module: header codecs, the outbound connection pool, the inbound
// server and the byte copy between app sockets and CONNECT streams. Shared by proxy/ and waypoint/.

export {
  formatAuthority,
  parseAuthority,
  buildBaggage,
  parseBaggage,
  buildForwarded,
  parseForwardedHost,
  newTraceparent,
  type ParsedAuthority,
  type BaggageWorkload,
} from './headers.js';
export {
  HbonePool,
  type HbonePoolInputs,
  type HboneConnectRequest,
  type HboneClientStream,
  type HbonePoolStats,
} from './client.js';
export {
  HboneServer,
  respondError,
  SERVER_MAX_CONCURRENT_STREAMS,
  SERVER_MAX_HEADER_LIST_BYTES,
  type HboneServerInputs,
  type HboneInboundRequest,
  type HboneServerStats,
  type HboneServerErrorPhase,
} from './server.js';
export { copyBidirectional, resetTcp, DEFAULT_H2_SEND_BUFFER_BYTES, type CopyCounters, type CopyOptions, type CopyResult } from './copy.js';
export { connectHeaderProblem, headerFieldsOf, type HeaderField } from './connect-headers.js';
export { type HboneSessionInfo, type SocketAddress } from './session-info.js';
export { CLIENT_MAX_HEADER_LIST_BYTES } from './client-connection.js';
