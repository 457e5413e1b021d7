// Public surface of the proxy module: the node agent's data plane (listeners, outbound routing,
// inbound HBONE and plaintext handling, continuous authorization), host and per-pod instances.

export { NodeProxy, type NodeProxyInputs, type ProxyAddresses } from './node-proxy.js';
export { ProxyInstance, type ProxyInstanceInputs, type OriginalDstResolver } from './proxy-instance.js';
export { HostSocketFactory, type SocketFactory, type ConnectOptions } from './socket-factory.js';
export { Listener, type ListenerOptions } from './listener.js';
export { routeOutbound, routeToServiceHost, formatAuthority, notRegistered, type Route, type RouteInput, type RouteState, type SocketAddr } from './outbound-route.js';
export { ServiceEntryHosts, systemResolver, type HostResolver, type HostsState, type ServiceEntryHostsOptions } from './service-entry-hosts.js';
export { acceptSocks5, closeRefusedSocks, writeSocksReply, SOCKS_REFUSAL_LINGER_MS, SOCKS_REPLY, type Socks5Target } from './socks5.js';
export { ConnectionManager, type ConnectionListing, type OutboundConnection, type TrackedConnection } from './connection-manager.js';
export { LocalWorkloads, PodView, SinglePodView, type LocalView } from './local-workloads.js';
export { ownPorts } from './inbound.js';
export {
  OwnListeners,
  isNetworkReachableBind,
  proxyListeners,
  serverListeners,
  hostInterfaceAddresses,
  type OwnListener,
  type OwnListenerSource,
  type ServerAddresses,
} from './own-listeners.js';
export { socksReplyFor } from './socks-reply.js';
export { normalizeIp } from './socket-addr.js';
export { explainConnection, type ExplainInputs } from './route-explain.js';
export type {
  AuthorizationCheck,
  ExplainedDecision,
  ExplainedDestination,
  ExplainedEndpoint,
  ExplainedRoute,
  ExplainedSource,
  ExplainedWorkload,
  Explanation,
} from './explain-types.js';
