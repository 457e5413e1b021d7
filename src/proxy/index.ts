// Public surface of the proxy module: the node agent's data plane (listeners, outbound routing,
// inbound HBONE and plaintext handling, continuous authorization).

export { NodeProxy, type NodeProxyInputs, type OriginalDstResolver, type ProxyAddresses } from './node-proxy.js';
export { routeOutbound, formatAuthority, type Route, type RouteInput, type RouteState, type SocketAddr } from './outbound-route.js';
export { acceptSocks5, writeSocksReply, SOCKS_REPLY, type Socks5Target } from './socks5.js';
export { ConnectionManager, type TrackedConnection } from './connection-manager.js';
export { LocalWorkloads } from './local-workloads.js';
export { normalizeIp } from './socket-addr.js';
