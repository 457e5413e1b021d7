// translateMesh: one object snapshot → everything node agents need (istiod's ambient index for
// ztunnel), plus per-object problems and HTTPRoute status. Pure: no I/O, same input ⇒ same output.
// MeshTranslator does the same over successive snapshots, reusing what an unchanged input gave.
//
// Invariant: MeshTranslator.translate(s) deep-equals translateMesh(s) for every snapshot s, whatever
// came before. Reuse is decided by object identity (stores replace objects, never mutate them):
// - Services (and ServiceEntry hosts), when the Service, ServiceEntry, Gateway and Namespace objects are the same;
// - policies, when the AuthorizationPolicy and PeerAuthentication objects are the same;
// - the EndpointSlice index and slice workloads, when the slices are the same and the Services reused;
// - a pod's Workload, when the pod object is the same, every kind a Workload reads (POD_CONTEXT_KINDS)
//   is the same, and the same Services' EndpointSlices list the pod.
// What is reused is the same object as before (so an encoder can memoize by identity), with the
// problems its translation reported reported again. A Workload, Service or Authorization translated
// again that came out equal to its previous one is the previous object too.

import { isDeepStrictEqual } from 'node:util';
import type { Kind, KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { policyKey, serviceKey, type Authorization, type Workload } from '../../state/index.js';
import { translateAuthorizationPolicy, type TranslatedPolicy } from './authorization.js';
import { endpointSliceWorkloads, PodSliceIndex } from './endpoint-slices.js';
import { convertPeerAuthentication, staticStrictPolicy } from './peer-authentication.js';
import { httpRouteStatuses } from './route-status.js';
import { resolveHostnames, translateServiceEntries } from './service-entries.js';
import { serviceEntryWorkloads } from './service-entry-workloads.js';
import { ServiceSelectorIndex, translateService, type ServiceEntryInfo, type ServiceInfo } from './services.js';
import { Problems, type MeshTranslation, type TranslateOptions, type TranslationError } from './types.js';
import { WaypointIndex } from './waypoints.js';
import { translatePod, type WorkloadContext } from './workloads.js';

/** What translateService and the WaypointIndex read. */
const SERVICE_KINDS: readonly Kind[] = ['Service', 'ServiceEntry', 'Gateway', 'Namespace'];
const POLICY_KINDS: readonly Kind[] = ['AuthorizationPolicy', 'PeerAuthentication'];
/** What the EndpointSlice stage reads besides the translated Services. */
const SLICE_KINDS: readonly Kind[] = ['EndpointSlice'];
/** Every kind translatePod reads (through WorkloadContext) besides the pod and the EndpointSlices. */
export const POD_CONTEXT_KINDS: readonly Kind[] = ['Namespace', 'Node', 'Service', 'ServiceEntry', 'Gateway', 'AuthorizationPolicy', 'PeerAuthentication'];
const ALL_KINDS: readonly Kind[] = [...new Set([...SERVICE_KINDS, ...POLICY_KINDS, ...SLICE_KINDS, ...POD_CONTEXT_KINDS])];

/** A stage's result with the problems it reported. */
interface Stage<T> {
  readonly value: T;
  readonly problems: readonly TranslationError[];
}

interface Policies {
  readonly translated: readonly TranslatedPolicy[];
  readonly authorizations: readonly Authorization[];
}

interface Slices {
  readonly index: PodSliceIndex;
  /** Workloads of slice endpoints that are not pods. */
  readonly workloads: readonly Workload[];
}

interface PodMemo {
  /** The Services whose EndpointSlices listed the pod. */
  readonly slices: readonly ServiceInfo[];
  readonly workload: Workload | undefined;
  readonly problems: readonly TranslationError[];
}

interface Memo {
  /** The objects of every kind a stage depends on, as listed by the snapshot translated. */
  readonly lists: ReadonlyMap<Kind, readonly KubeObject[]>;
  readonly services: Stage<readonly ServiceInfo[]>;
  readonly policies: Stage<Policies>;
  readonly slices: Stage<Slices>;
  readonly pods: WeakMap<KubeObject<'Pod'>, PodMemo>;
  /** ServiceEntry endpoint Workloads by uid (rebuilt every time; equal ones handed back as before). */
  readonly entryWorkloads: ReadonlyMap<string, Workload>;
}

const byString = <T>(key: (t: T) => string) => (a: T, b: T): number => {
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

function sameItems<T>(a: readonly T[] | undefined, b: readonly T[]): boolean {
  if (a === b) return true;
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `before` when it is equal to `now` (kept: encoders memoize by identity), else `now`. */
function same<T>(before: T | undefined, now: T): T {
  return before !== undefined && isDeepStrictEqual(before, now) ? before : now;
}

/** Runs a stage with a problem collector of its own, unless `reuse` (the last run's) still holds. */
function stage<T>(reuse: Stage<T> | undefined, run: (problems: Problems) => T): Stage<T> {
  if (reuse !== undefined) return reuse;
  const problems = new Problems();
  return { value: run(problems), problems: problems.list };
}

export class MeshTranslator {
  #memo: Memo | undefined;

  constructor(readonly options: TranslateOptions) {}

  /** Forgets everything: the next translation starts from scratch. */
  reset(): void {
    this.#memo = undefined;
  }

  translate(snapshot: ObjectSnapshot): MeshTranslation {
    const { options } = this;
    const prev = this.#memo;
    // A throw below must not leave a memo describing a translation that never completed.
    this.#memo = undefined;
    const lists = new Map<Kind, readonly KubeObject[]>();
    const list = <K extends Kind>(kind: K): readonly KubeObject<K>[] => {
      let l = lists.get(kind);
      if (l === undefined) lists.set(kind, (l = snapshot.list(kind) as readonly KubeObject[]));
      return l as readonly KubeObject<K>[];
    };
    const unchanged = (kinds: readonly Kind[]): boolean => prev !== undefined && kinds.every((k) => sameItems(prev.lists.get(k), list(k)));

    const waypointProblems = new Problems();
    const waypoints = new WaypointIndex(snapshot, options, waypointProblems);
    const services = stage(unchanged(SERVICE_KINDS) ? prev!.services : undefined, (problems) => {
      const before = new Map(prev?.services.value.map((s) => [serviceKey(s.service.namespace, s.service.hostname), s.service]));
      const kube: ServiceInfo[] = [];
      for (const svc of list('Service')) {
        const info = translateService(svc, options, waypoints, problems);
        if (info) kube.push(info);
      }
      const entries = translateServiceEntries(list('ServiceEntry'), options, waypoints, problems);
      return resolveHostnames(kube, entries, problems).map((info) => ({
        ...info,
        service: same(before.get(serviceKey(info.service.namespace, info.service.hostname)), info.service),
      }));
    });
    const servicesByKey = new Map(services.value.map((s) => [serviceKey(s.service.namespace, s.service.hostname), s]));

    const policies = stage(unchanged(POLICY_KINDS) ? prev!.policies : undefined, (problems) => {
      const translated: TranslatedPolicy[] = [];
      for (const ap of list('AuthorizationPolicy')) {
        const t = translateAuthorizationPolicy(ap, options.rootNamespace, problems);
        if (t) translated.push(t);
      }
      const peerAuthentications = list('PeerAuthentication');
      const authorizations: Authorization[] = translated.map((t) => t.authorization);
      for (const pa of peerAuthentications) {
        const converted = convertPeerAuthentication(pa, peerAuthentications, options.rootNamespace, problems);
        if (converted) authorizations.push(converted);
      }
      if (peerAuthentications.length > 0) authorizations.push(staticStrictPolicy(options.rootNamespace));
      const before = new Map(prev?.policies.value.authorizations.map((a) => [policyKey(a.namespace, a.name), a]));
      return {
        translated,
        authorizations: authorizations.map((a) => same(before.get(policyKey(a.namespace, a.name)), a)).sort(byString((p) => policyKey(p.namespace, p.name))),
      };
    });

    const slicesReusable = prev !== undefined && services === prev.services && unchanged(SLICE_KINDS);
    const slices = stage(slicesReusable ? prev.slices : undefined, (problems) => ({
      index: new PodSliceIndex(snapshot, servicesByKey, options),
      workloads: endpointSliceWorkloads(snapshot, servicesByKey, options, problems),
    }));

    const podProblems = new Problems();
    const ctx: WorkloadContext = {
      snapshot,
      options,
      serviceIndex: new ServiceSelectorIndex(services.value),
      slices: slices.value.index,
      policies: policies.value.translated,
      peerAuthentications: list('PeerAuthentication'),
      waypoints,
      problems: podProblems,
    };
    const contextSame = unchanged(POD_CONTEXT_KINDS);
    const pods = contextSame ? prev!.pods : new WeakMap<KubeObject<'Pod'>, PodMemo>();
    const workloads: Workload[] = [];
    for (const pod of list('Pod')) {
      const listed = slices.value.index.of(pod);
      let memo = pods.get(pod);
      if (memo !== undefined && sameItems(memo.slices, listed)) {
        if (memo.problems.length > 0) podProblems.list.push(...memo.problems);
      } else {
        const start = podProblems.list.length;
        let workload = translatePod(pod, ctx);
        // The context changed but this pod's Workload may not have: keep the previous object then
        // (its encoding is reused, and the new one dies young instead of replacing it).
        if (workload !== undefined) workload = same(memo?.workload ?? (contextSame ? undefined : prev?.pods.get(pod)?.workload), workload);
        memo = { slices: listed, workload, problems: podProblems.list.slice(start) };
        pods.set(pod, memo);
      }
      if (memo.workload) workloads.push(memo.workload);
    }
    workloads.push(...slices.value.workloads);

    // ServiceEntry endpoints: few, rebuilt every time (they read entries, policies and waypoints).
    const entryProblems = new Problems();
    const entryWorkloads = new Map<string, Workload>();
    const entryInfos = services.value.filter((s): s is ServiceEntryInfo => s.source === 'ServiceEntry');
    const ctxEntries = { options, policies: policies.value.translated, peerAuthentications: list('PeerAuthentication'), waypoints, problems: entryProblems };
    for (const w of serviceEntryWorkloads(entryInfos, ctxEntries)) {
      if (entryWorkloads.has(w.uid)) continue; // defensive: uids are unique per entry and address
      const kept = same(prev?.entryWorkloads.get(w.uid), w);
      entryWorkloads.set(w.uid, kept);
      workloads.push(kept);
    }

    for (const k of ALL_KINDS) list(k);
    this.#memo = { lists, services, policies, slices, pods, entryWorkloads };
    return {
      workloads: workloads.sort(byString((w) => w.uid)),
      services: services.value.map((s) => s.service).sort(byString((s) => serviceKey(s.namespace, s.hostname))),
      policies: [...policies.value.authorizations],
      waypoints: waypoints
        .all()
        .map(({ namespace, name, trafficType, address }) => ({ namespace, name, trafficType, address }))
        .sort(byString((w) => `${w.namespace}/${w.name}`)),
      httpRouteStatus: httpRouteStatuses(snapshot, waypoints, options),
      // The order a single pass reports them in: waypoints, Services, policies, pods, slices, entry endpoints.
      errors: [...waypointProblems.list, ...services.problems, ...policies.problems, ...podProblems.list, ...slices.problems, ...entryProblems.list],
    };
  }
}

export function translateMesh(snapshot: ObjectSnapshot, options: TranslateOptions): MeshTranslation {
  return new MeshTranslator(options).translate(snapshot);
}
