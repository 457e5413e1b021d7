// Public surface of the in-pod module: what Ambit does inside a pod's network namespace (traffic
// redirection rules, the per-pod proxies), the pod registry that drives it, and its sources: the
// local config (own-rules mode) or istio-cni over ZDS (zds mode).

export { installRedirectRules, removeRedirectRules, redirectRulesDump } from './redirect-rules.js';
export type { RedirectOptions, RedirectDumpOptions } from './redirect-rules.js';
export {
  AMBIT_CHAINS,
  CHAIN_OUTPUT,
  CHAIN_PREROUTING,
  MARK_MASK,
  ROUTE_TABLE,
  RULE_PREF,
  TPROXY_MARK,
} from './redirect-rule-set.js';
export { runInNetns, type NetnsCommandResult } from './netns-command.js';
export { InpodManager, type InpodManagerInputs, type PodRunner, type PodState, type PodStatus } from './inpod-manager.js';
export { PodProxy, PACKET_MARK, type PodProxyInputs } from './pod-proxy.js';
export { PodProxySet, type PodProxySetInputs, type SharedPodSpec } from './pod-proxy-set.js';
export { RemotePod, type PodListenerHosts, type RemotePodInputs } from './remote-pod.js';
export type { IpFamily } from './redirect-rule-set.js';
export { LocalConfigPodSource, isInpodWorkload, type CaptureRules, type PodEntry, type PodSource } from './pod-source.js';
export { ZdsPodSource, type ZdsUpsert } from './zds-pod-source.js';
export { ZdsClient, ZDS_BACKOFF_INITIAL_MS, ZDS_BACKOFF_MAX_MS, ZDS_READINESS_TASK, type ZdsClientDump, type ZdsClientInputs, type ZdsConnectionState } from './zds-client.js';
export {
  decodeAck,
  decodeWorkloadRequest,
  decodeZdsHello,
  encodeAck,
  encodeWorkloadRequest,
  encodeZdsHello,
  ZDS_DESCRIPTOR,
  ZDS_VERSION,
  type ZdsRequest,
  type ZdsWorkloadInfo,
} from './zds-codec.js';
export { parseZdsDatagram, ZDS_MAX_DATAGRAM_BYTES, type ZdsDatagram, type ZdsMessage, type ZdsParse } from './zds-datagram.js';
export { NEW_SESSION, zdsTransition, type ZdsAction, type ZdsSessionState, type ZdsTransition } from './zds-session.js';
export { LocalWorkloadGate, LOCAL_WORKLOAD_WAIT_MS, type LocalWorkloadGateInputs } from './local-workload-gate.js';
export { NamedPodView } from './named-pod-view.js';
