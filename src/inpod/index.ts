// Public surface of the in-pod module: what Ambit does inside a pod's network namespace (traffic
// redirection rules, the per-pod proxies) and the pod registry that drives it.

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
export { InpodManager, type InpodManagerInputs, type PodRunner, type PodState } from './inpod-manager.js';
export { PodProxy, PACKET_MARK, type PodProxyInputs } from './pod-proxy.js';
export { PodProxySet, type PodProxySetInputs, type SharedPodSpec } from './pod-proxy-set.js';
export { RemotePod, type PodListenerHosts, type RemotePodInputs } from './remote-pod.js';
export type { IpFamily } from './redirect-rule-set.js';
export { LocalConfigPodSource, isInpodWorkload, type PodEntry, type PodSource } from './pod-source.js';
