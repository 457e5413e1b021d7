// Public surface of the state module: the internal mesh model (types.ts), the ProxyState store and
// the IP helpers every config source uses to canonicalise addresses.

export * from './types.js';
export { ProxyState, type StateChange, type StateListener, type ProxyStateOptions } from './proxy-state.js';
export { endpointCandidates, targetPortFor, type PickedEndpoint, type RandomSource } from './endpoint-picker.js';
export { toJson, type StateDump, type JsonValue } from './state-dump.js';
export { canonicalIp, ipFamily, ipToBigInt, parseCidr, cidrContains, type ParsedCidr } from './ip-address.js';
export type { PolicySourceFields, PolicyOperationFields } from './policy-fields.js';
