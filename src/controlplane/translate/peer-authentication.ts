// PeerAuthentication → the DENY policies node agents enforce mTLS with (istiod ambient
// authorization.go convertedSelectorPeerAuthentications / convertPeerAuthentication, policies.go).
//
// STRICT (mesh-wide, namespace or workload) is expressed by one static policy,
// `<root>/istio_converted_static_strict` (DENY when there is no peer principal), whose key is
// attached to every workload where STRICT is in effect. Port-level mTLS becomes a per-workload
// DENY policy `converted_peer_authentication_<name>`. Precedence: workload > namespace > mesh;
// among several at one level the oldest (creationTimestamp) wins.

import type { KubeObject } from '../../k8s/index.js';
import { policyKey, type Authorization, type RbacClause, type RbacMatch } from '../../state/index.js';
import { emptyMatch } from './authorization-rules.js';
import { selectsLabels, type Labels } from './labels.js';
import { refOf, type Problems } from './types.js';

type PeerAuthn = KubeObject<'PeerAuthentication'>;
type Mode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export const STATIC_STRICT_NAME = 'istio_converted_static_strict';
export const CONVERTED_PREFIX = 'converted_peer_authentication_';

const noPrincipal = (): RbacMatch => ({ ...emptyMatch(), notPrincipals: [{ kind: 'presence' }] });

/** Sent (WORKLOAD_SELECTOR scope) whenever any PeerAuthentication exists (policies.go DefaultPolicy). */
export function staticStrictPolicy(rootNamespace: string): Authorization {
  return { name: STATIC_STRICT_NAME, namespace: rootNamespace, scope: 'WorkloadSelector', action: 'Deny', dryRun: false, rules: [[[noPrincipal()]]] };
}

function modeOf(m: { readonly mode?: string } | undefined): Mode {
  const mode = m?.mode;
  return mode === 'DISABLE' || mode === 'PERMISSIVE' || mode === 'STRICT' ? mode : 'UNSET';
}

const isStrict = (p: PeerAuthn | undefined): boolean => p !== undefined && modeOf(p.spec?.mtls) === 'STRICT';
const isUnset = (p: PeerAuthn): boolean => modeOf(p.spec?.mtls) === 'UNSET';

/** Go's zero time (no timestamp) sorts first, as in istiod's CreationTimestamp.Before. */
function created(p: PeerAuthn): number {
  const t = p.metadata.creationTimestamp;
  const ms = t === undefined ? Number.NaN : Date.parse(String(t));
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}

/** The oldest of `list` (first wins a tie, as a strict Before comparison keeps it). */
function oldest(list: readonly PeerAuthn[]): PeerAuthn | undefined {
  let best: PeerAuthn | undefined;
  for (const p of list) if (best === undefined || created(p) < created(best)) best = p;
  return best;
}

/** No selector, or a selector without labels: a namespace- or mesh-level policy. */
const isNamespaceLevel = (p: PeerAuthn): boolean => Object.keys(p.spec?.selector?.matchLabels ?? {}).length === 0;

/**
 * The PeerAuthentication keys a workload carries in authorization_policies: the static STRICT
 * key when the effective mode is STRICT, and/or its port-level policy's key.
 * Candidates (istiod fetchPeerAuthentications): root-namespace policies without a selector, and
 * policies of the workload's namespace without a selector or whose matchLabels it satisfies.
 */
export function peerAuthenticationKeys(all: readonly PeerAuthn[], rootNamespace: string, namespace: string, labels: Labels): string[] {
  const candidates = all.filter((p) => {
    const sel = p.spec?.selector;
    if (p.metadata.namespace === rootNamespace && sel === undefined) return true;
    if (p.metadata.namespace !== namespace) return false;
    return sel === undefined || selectsLabels(sel.matchLabels ?? {}, labels);
  });
  const level = (p: PeerAuthn): 'mesh' | 'namespace' | 'workload' | undefined =>
    isNamespaceLevel(p) ? (p.metadata.namespace === rootNamespace ? 'mesh' : 'namespace') : p.metadata.namespace !== rootNamespace ? 'workload' : undefined;
  const mesh = oldest(candidates.filter((p) => level(p) === 'mesh'));
  const ns = oldest(candidates.filter((p) => level(p) === 'namespace'));
  const wl = oldest(candidates.filter((p) => level(p) === 'workload'));

  let strict = mesh !== undefined && isStrict(mesh);
  if (ns !== undefined && !isUnset(ns)) strict = isStrict(ns);
  let portKey: string | undefined;
  if (wl !== undefined) {
    const mode = modeOf(wl.spec?.mtls);
    if (mode === 'STRICT') strict = true;
    if (mode === 'PERMISSIVE' || mode === 'DISABLE') strict = false;
    const portModes = Object.values(wl.spec?.portLevelMtls ?? {}).map(modeOf);
    if (wl.spec?.portLevelMtls !== undefined) {
      const key = policyKey(wl.metadata.namespace ?? '', CONVERTED_PREFIX + wl.metadata.name);
      if (mode === 'STRICT') {
        if (portModes.some((m) => m === 'PERMISSIVE' || m === 'DISABLE')) {
          portKey = key;
          strict = false; // the converted policy carries the STRICT default itself
        }
      } else if (mode === 'PERMISSIVE' || mode === 'DISABLE') {
        if (portModes.includes('STRICT')) portKey = key;
      } else if (strict) {
        // Inherited STRICT: only a PERMISSIVE port needs the workload policy (DISABLE does not count here).
        if (portModes.includes('PERMISSIVE')) {
          portKey = key;
          strict = false;
        }
      } else if (portModes.includes('STRICT')) {
        portKey = key;
      }
    }
  }
  const keys = new Set<string>();
  if (strict) keys.add(policyKey(rootNamespace, STATIC_STRICT_NAME));
  if (portKey !== undefined) keys.add(portKey);
  return [...keys].sort();
}

/**
 * The port-level policy of one PeerAuthentication, or undefined when none is needed (istiod
 * convertPeerAuthentication): only for a policy with a selector, outside the root namespace,
 * with portLevelMtls. `ns` and `root` are the oldest selector-less policies of its namespace
 * and of the root namespace.
 */
export function convertPeerAuthentication(pa: PeerAuthn, all: readonly PeerAuthn[], rootNamespace: string, problems: Problems): Authorization | undefined {
  const namespace = pa.metadata.namespace ?? '';
  const portLevel = pa.spec?.portLevelMtls ?? {};
  if (namespace === rootNamespace || pa.spec?.selector === undefined || Object.keys(portLevel).length === 0) return undefined;
  const selectorless = (n: string): PeerAuthn | undefined => oldest(all.filter((p) => p.metadata.namespace === n && p.spec?.selector === undefined));
  const ns = selectorless(namespace);
  const root = selectorless(rootNamespace);
  const mode = modeOf(pa.spec?.mtls);

  const ports: [number, Mode][] = [];
  for (const [text, m] of Object.entries(portLevel)) {
    if (!/^\d+$/.test(text) || Number(text) > 65535) {
      problems.error(refOf(pa), `spec.portLevelMtls["${text}"]`, 'not a port number; entry left out');
      continue;
    }
    ports.push([Number(text), modeOf(m)]);
  }
  ports.sort((a, b) => a[0] - b[0]); // istiod iterates maps.SeqStable (JS already yields integer keys in order)

  const clauses: RbacClause[] = []; // one rule (AND of clauses)
  const rules: RbacClause[][] = []; // rules are OR'd: one per STRICT port
  if (mode === 'STRICT') clauses.push([noPrincipal()]);
  let foundNonStrict = false;
  for (const [port, portMode] of ports) {
    if (portMode === 'STRICT') {
      // Go precedence in upstream: strict(pa) || (unset(pa) && strict(ns)) || ((no ns || unset(ns)) && strict(root)).
      const parentStrict = isStrict(pa) || (isUnset(pa) && isStrict(ns)) || ((ns === undefined || isUnset(ns)) && isStrict(root));
      if (parentStrict) continue; // the static STRICT policy already covers this port
      rules.push([[{ ...noPrincipal(), destinationPorts: [port] }]]);
    } else if (portMode === 'PERMISSIVE' || portMode === 'DISABLE') {
      if (mode === 'PERMISSIVE' || mode === 'DISABLE') continue;
      if (mode === 'UNSET' && ((ns !== undefined && !isStrict(ns)) || (ns === undefined && root !== undefined && !isStrict(root)) || (ns === undefined && root === undefined))) {
        continue; // the effective policy is not STRICT, nothing to exempt
      }
      foundNonStrict = true;
      // Exempts the port from the DENY: it fires only for connections to other ports.
      clauses.push([{ ...emptyMatch(), notDestinationPorts: [port] }]);
    }
  }
  if (mode === 'STRICT' && !foundNonStrict) return undefined; // plain STRICT: the static policy does it
  if (clauses.length === 0 && rules.length === 0) return undefined;
  const mergeStrict = (isStrict(root) && (ns === undefined || isUnset(ns) || isStrict(ns))) || isStrict(ns);
  // An inherited STRICT is merged in, so the workload can drop the static policy: any matching
  // DENY blocks, so "static STRICT + an exception" could never let the exempted port through.
  if (mergeStrict && foundNonStrict) clauses.push([noPrincipal()]);
  if (clauses.length > 0) rules.push(clauses);
  return { name: CONVERTED_PREFIX + pa.metadata.name, namespace, scope: 'WorkloadSelector', action: 'Deny', dryRun: false, rules };
}
