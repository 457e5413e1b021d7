// Public surface of the in-pod module: what Ambit does inside a pod's network namespace (traffic
// redirection today; the per-pod proxy joins later).

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
// The per-pod proxy side (owned by the lead; exported here because bin/node-agent.ts imports it).
export { InpodManager } from './inpod-manager.js';
