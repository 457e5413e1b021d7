// `/debug/explain`: what the data plane would do with one connection, decided by the data plane's own
// code on the agent's live state: `routeOutbound` for the route, `authorize` at the destination.
// Read-only: nothing is dialled, no counter moves, the state is only read.

import { isIP } from 'node:net';
import { MeshError, isMeshError } from '../common/errors.js';
import type { Config } from '../config/index.js';
import { canonicalIp, type PickedEndpoint, type ProxyState, type Service, type Workload } from '../state/index.js';
import { checkAuthorization, explainedWorkload } from './authorization-explain.js';
import type { AuthorizationCheck, ExplainedDestination, ExplainedEndpoint, ExplainedRoute, ExplainedSource, Explanation } from './explain-types.js';
import { routeOutbound, type Route, type RouteState, type SocketAddr } from './outbound-route.js';
import type { OwnListener } from './own-listeners.js';
import { formatAddr } from './socket-addr.js';

/** More endpoints than this are summarised: explain is for people, not for a dump of the mesh. */
const MAX_CHECKS = 16;

export interface ExplainInputs {
  readonly state: ProxyState;
  readonly config: Config;
  /** As the host proxy's OwnListeners.at: destinations that would be refused as a self call. */
  readonly ownListenerAt: (dst: SocketAddr) => OwnListener | undefined;
  readonly random?: () => number;
}

/** The invalid-query error: the admin server answers it 400 with the message. */
function bad(message: string): MeshError {
  return new MeshError('ADMIN_QUERY_INVALID', message);
}

function workloadByName(state: ProxyState, nodeName: string, ns: string, name: string): Workload | undefined {
  const all = state.snapshot().workloads.filter((w) => w.namespace === ns && w.name === name);
  return all.find((w) => w.node === nodeName) ?? all[0];
}

/** `ns/pod` or an IP (brackets allowed): the connection's source. */
function resolveSource(inputs: ExplainInputs, text: string): { ip: string; workload: Workload | undefined } {
  const { state, config } = inputs;
  const ip = canonicalIp(text.replace(/^\[(.*)\]$/, '$1'));
  if (ip !== undefined) return { ip, workload: state.workloadByIp(config.network, ip) };
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(text);
  if (!m) throw bad(`from "${text}": expected <namespace>/<pod> or an IP address`);
  const w = workloadByName(state, config.nodeName, m[1]!, m[2]!);
  if (!w) throw bad(`from "${text}": no workload ${text} in this agent's state (node ${config.nodeName})`);
  const first = w.workloadIps[0];
  if (first === undefined) throw bad(`from "${text}": workload ${text} has no IP address`);
  return { ip: first, workload: w };
}

/** `host:port` with host an IP, `[v6]`, `ns/pod`, or a service hostname (FQDN, `name.ns`, or `name` in the source's namespace). */
function resolveDestination(inputs: ExplainInputs, text: string, sourceNs: string | undefined): SocketAddr {
  const { state, config } = inputs;
  const colon = text.lastIndexOf(':');
  const rawHost = colon < 0 ? '' : text.slice(0, colon);
  // `fd00::1:80` would be read as [fd00::1]:80 or as [fd00::1:80] with no port: refuse, ask for brackets.
  if (rawHost.includes(':') && !/^\[.*\]$/.test(rawHost)) throw bad(`to "${text}": write an IPv6 address in brackets, e.g. [fd00::1]:80`);
  const host = rawHost.replace(/^\[(.*)\]$/, '$1');
  const portText = colon < 0 ? '' : text.slice(colon + 1);
  if (host === '' || !/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65_535) {
    throw bad(`to "${text}": expected <host>:<port> (host an IP, [IPv6], <namespace>/<pod> or a service hostname; port 1-65535)`);
  }
  const port = Number(portText);
  const ip = canonicalIp(host);
  if (ip !== undefined) return { ip, port };
  const pod = /^([^/\s]+)\/([^/\s]+)$/.exec(host);
  if (pod) {
    const w = workloadByName(state, config.nodeName, pod[1]!, pod[2]!);
    const wip = w?.workloadIps[0];
    if (wip === undefined) throw bad(`to "${text}": no workload ${host} with an address in this agent's state`);
    return { ip: wip, port };
  }
  const names = [host, `${host}.svc.${config.clusterDomain}`, ...(sourceNs ? [`${host}.${sourceNs}.svc.${config.clusterDomain}`] : [])];
  const svc = names.map((n) => state.serviceByHostname(n, sourceNs)).find((s) => s !== undefined);
  if (!svc) throw bad(`to "${text}": no service with hostname ${names.join(' or ')} in this agent's state`);
  const vip = svc.vips.find((v) => v.network === config.network && isIP(v.ip) !== 0);
  if (!vip) throw bad(`to "${text}": service ${svc.namespace}/${svc.hostname} has no VIP on network "${config.network}" (headless?): give an endpoint IP`);
  return { ip: vip.ip, port };
}

interface Pick {
  readonly service: Service;
  readonly port: number;
  readonly candidates: readonly PickedEndpoint[];
}

/** The state as routeOutbound reads it, noting every endpoint pick and its candidates on the way. */
function recordingState(state: ProxyState, picks: Pick[]): RouteState {
  return {
    workloadByIp: (network, ip) => state.workloadByIp(network, ip),
    serviceByVip: (network, ip, ns) => state.serviceByVip(network, ip, ns),
    serviceByHostname: (hostname, ns) => state.serviceByHostname(hostname, ns),
    pickEndpoint: (service, port, source) => {
      picks.push({ service, port, candidates: state.endpointCandidates(service, port, source) });
      return state.pickEndpoint(service, port, source);
    },
  };
}

/** The address dialled on an endpoint: its IP of the destination's family (as routeOutbound's selectIp). */
function endpointOf(w: Workload, port: number, wantedIp: string): ExplainedEndpoint {
  const family = isIP(wantedIp);
  const ip = w.workloadIps.includes(wantedIp) ? wantedIp : (w.workloadIps.find((x) => isIP(x) === family) ?? w.workloadIps[0] ?? '');
  return { workload: explainedWorkload(w, ip), address: formatAddr({ ip, port }) };
}

const svcKey = (s: Service): string => `${s.namespace}/${s.hostname}`;

function emptyRoute(kind: ExplainedRoute['kind'], protocol: ExplainedRoute['protocol']): ExplainedRoute {
  return { kind, protocol, nextHop: undefined, authority: undefined, expectedIdentities: [], waypoint: undefined, service: undefined, endpoint: undefined, candidates: [], error: undefined };
}

export function explainConnection(inputs: ExplainInputs, query: { readonly from: string | null; readonly to: string | null }): Explanation {
  const { state, config } = inputs;
  if (!query.from) throw bad('from is required: ?from=<namespace>/<pod>|<ip>&to=<host>:<port>');
  if (!query.to) throw bad('to is required: ?from=<namespace>/<pod>|<ip>&to=<host>:<port>');
  const src = resolveSource(inputs, query.from.trim());
  const dst = resolveDestination(inputs, query.to.trim(), src.workload?.namespace);
  const notes: string[] = [];
  const captured = src.workload !== undefined && src.workload.protocol === 'HBONE';
  const from: ExplainedSource = { input: query.from, ip: src.ip, workload: src.workload && explainedWorkload(src.workload, src.ip), captured };
  const dstService = state.serviceByVip(config.network, dst.ip, src.workload?.namespace);
  const dstWorkload = state.workloadByIp(config.network, dst.ip);
  const to: ExplainedDestination = {
    input: query.to,
    ip: dst.ip,
    port: dst.port,
    service: dstService && { namespace: dstService.namespace, hostname: dstService.hostname },
    workload: dstWorkload && explainedWorkload(dstWorkload, dst.ip),
  };
  if (captured && src.workload!.node !== config.nodeName) {
    const w = src.workload!;
    notes.push(`${w.namespace}/${w.name} runs on node ${w.node || '(none)'}: the agent there takes its traffic; this agent (node ${config.nodeName}) evaluated it on its own state`);
  }
  const part = captured ? explainCaptured(inputs, src.workload!, src.ip, dst, notes) : explainPlaintext(inputs, src, dst, dstService, dstWorkload, notes);
  const { verdict, summary } = verdictOf(part.route, part.checks, part.unenforced);
  return { from, to, route: part.route, authorization: part.checks, verdict, summary, notes, evaluatedBy: config.nodeName };
}

interface Part {
  readonly route: ExplainedRoute;
  readonly checks: AuthorizationCheck[];
  /** Why no mesh authorization applies (when `checks` is empty on purpose). */
  readonly unenforced?: string;
}

function explainCaptured(inputs: ExplainInputs, source: Workload, srcIp: string, dst: SocketAddr, notes: string[]): Part {
  const { state, config } = inputs;
  const picks: Pick[] = [];
  let route: Route;
  try {
    route = routeOutbound(
      { state: recordingState(state, picks), source, dst, network: config.network, hbonePort: config.ports.hbone, ownListenerAt: inputs.ownListenerAt, random: inputs.random },
      srcIp,
    );
  } catch (err) {
    const e = isMeshError(err) ? err : new MeshError('INTERNAL', String(err));
    if (e.code === 'NOT_REGISTERED') {
      notes.push('the data path still admits it if a DNS ServiceEntry host of this port resolves to this address (explain does not resolve names)');
    }
    return { route: { ...emptyRoute('error', undefined), error: { code: e.code, message: e.message } }, checks: [] };
  }
  const pickFor = (svc: Service | undefined, port: number): Pick | undefined => picks.find((p) => svc !== undefined && p.service === svc && p.port === port);
  const srcIdentity = explainedWorkload(source).identity;
  if (route.kind === 'passthrough') {
    const r = { ...emptyRoute('passthrough', 'TCP'), nextHop: formatAddr(route.target) };
    return { route: r, checks: [], unenforced: `${formatAddr(dst)} is not a mesh address (or its service is in Passthrough mode): sent to it as it is` };
  }
  if (route.kind === 'dns') {
    const pick = pickFor(route.destService, dst.port);
    const address = `${route.hostname}:${route.port}`;
    const r: ExplainedRoute = {
      ...emptyRoute('tcp', 'TCP'),
      nextHop: address,
      service: route.destService && svcKey(route.destService),
      endpoint: { workload: explainedWorkload(route.destWorkload), address },
      candidates: (pick?.candidates ?? []).map((c) => endpointOf(c.workload, c.port, dst.ip)),
    };
    return { route: r, checks: [], unenforced: `${route.destWorkload.namespace}/${route.destWorkload.name} is known by hostname ${route.hostname} (resolved when connecting): plain TCP, no mesh authorization at the destination` };
  }
  if (route.kind === 'tcp') {
    const pick = pickFor(route.destService, dst.port);
    const r: ExplainedRoute = {
      ...emptyRoute('tcp', 'TCP'),
      nextHop: formatAddr(route.target),
      service: route.destService && svcKey(route.destService),
      endpoint: endpointOf(route.destWorkload, route.target.port, route.target.ip),
      candidates: (pick?.candidates ?? []).map((c) => endpointOf(c.workload, c.port, dst.ip)),
    };
    return { route: r, checks: [], unenforced: `${route.destWorkload.namespace}/${route.destWorkload.name} does not accept HBONE (protocol TCP, not in the mesh): plain TCP, no mesh authorization at the destination` };
  }
  const base: ExplainedRoute = {
    ...emptyRoute('hbone', 'HBONE'),
    nextHop: formatAddr(route.nextHop),
    authority: route.authority,
    expectedIdentities: route.expectedSans,
    service: route.destService && svcKey(route.destService),
  };
  if (!route.viaWaypoint) {
    const pick = pickFor(route.destService, dst.port);
    const target = parseAuthority(route.authority);
    const endpoint = endpointOf(route.destWorkload, target.port, target.ip);
    const others = (pick?.candidates ?? []).filter((c) => c.workload.uid !== route.destWorkload.uid);
    const checks = [
      directCheck(inputs, route.destWorkload, target, srcIp, srcIdentity, true),
      ...others.slice(0, MAX_CHECKS - 1).map((c) => directCheck(inputs, c.workload, { ip: endpointOf(c.workload, c.port, dst.ip).workload.ip ?? '', port: c.port }, srcIp, srcIdentity, false)),
    ];
    if (others.length > MAX_CHECKS - 1) notes.push(`${others.length + 1} candidate endpoints: the first ${MAX_CHECKS} are checked`);
    const candidates = pick ? pick.candidates.map((c) => endpointOf(c.workload, c.port, dst.ip)) : [endpoint];
    return { route: { ...base, endpoint, candidates }, checks };
  }
  // Through a waypoint: it applies the L7 policy and picks the endpoint; the destination's agent
  // then authorizes the waypoint's identity (not the client's).
  const wp = route.destWorkload;
  const wpRef = explainedWorkload(wp, route.nextHop.ip);
  notes.push(`through waypoint ${wp.namespace}/${wp.name}: AuthorizationPolicies that target the waypoint (L7) are applied there and are not evaluated here; the destination checks the waypoint's identity ${wpRef.identity}`);
  const finals: { w: Workload; port: number }[] = route.destService
    ? state.endpointCandidates(route.destService, dst.port).map((c) => ({ w: c.workload, port: c.port }))
    : (() => {
        const w = state.workloadByIp(config.network, dst.ip);
        return w ? [{ w, port: dst.port }] : [];
      })();
  const candidates = finals.map((f) => endpointOf(f.w, f.port, dst.ip));
  const checks = finals
    .slice(0, MAX_CHECKS)
    .filter((f) => f.w.protocol === 'HBONE')
    .map((f) =>
      checkAuthorization({
        state,
        workload: f.w,
        srcIp: wpRef.ip ?? '',
        srcIdentity: wpRef.identity,
        dstIp: endpointOf(f.w, f.port, dst.ip).workload.ip ?? '',
        dstPort: appTunnelPort(f.w, f.port),
        enforcedBy: `node agent of node ${f.w.node || '(none)'}, inbound HBONE (${config.ports.hbone}) from waypoint ${wp.namespace}/${wp.name}`,
        chosen: finals.length === 1,
      }),
    );
  return { route: { ...base, waypoint: wpRef, candidates }, checks };
}

function appTunnelPort(w: Workload, port: number): number {
  // As inbound.ts resolveTarget: an application tunnel with a port overrides the target port.
  return w.applicationTunnel && w.applicationTunnel.port !== 0 ? w.applicationTunnel.port : port;
}

function directCheck(inputs: ExplainInputs, w: Workload, target: SocketAddr, srcIp: string, srcIdentity: string, chosen: boolean): AuthorizationCheck {
  return checkAuthorization({
    state: inputs.state,
    workload: w,
    srcIp,
    srcIdentity,
    dstIp: target.ip,
    dstPort: appTunnelPort(w, target.port),
    enforcedBy: `node agent of node ${w.node || '(none)'}, inbound HBONE (${inputs.config.ports.hbone})`,
    chosen,
  });
}

/** `ip:port` / `[v6]:port` as routeOutbound formats authorities. */
function parseAuthority(a: string): SocketAddr {
  const colon = a.lastIndexOf(':');
  return { ip: a.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(a.slice(colon + 1)) };
}

/**
 * The source is not in the mesh: nothing takes its traffic on the way out, so it reaches the
 * destination as plaintext; a mesh destination's agent takes it on 15006 and authorizes it with
 * no identity (this is where PeerAuthentication STRICT refuses it).
 */
function explainPlaintext(
  inputs: ExplainInputs,
  src: { ip: string; workload: Workload | undefined },
  dst: SocketAddr,
  svc: Service | undefined,
  wl: Workload | undefined,
  notes: string[],
): Part {
  const { state, config } = inputs;
  notes.push(
    src.workload
      ? `${src.workload.namespace}/${src.workload.name} is not in the mesh (protocol TCP): its traffic leaves as plaintext, no agent takes it on the way out`
      : `${src.ip} is not a workload this agent knows: its traffic arrives as plaintext, no agent takes it on the way out`,
  );
  let finals: { w: Workload; port: number }[] = [];
  if (svc) {
    notes.push(`${dst.ip} is the VIP of ${svcKey(svc)}: outside the mesh the cluster's service proxy (kube-proxy) picks any ready endpoint`);
    finals = state.endpointCandidates(svc, dst.port).map((c) => ({ w: c.workload, port: c.port }));
  } else if (wl) finals = [{ w: wl, port: dst.port }];
  const route: ExplainedRoute = {
    ...emptyRoute('plaintext', 'TCP'),
    nextHop: formatAddr(dst),
    service: svc && svcKey(svc),
    endpoint: !svc && wl ? endpointOf(wl, dst.port, dst.ip) : undefined,
    candidates: finals.map((f) => endpointOf(f.w, f.port, dst.ip)),
  };
  const inMesh = finals.filter((f) => f.w.protocol === 'HBONE');
  if (finals.length === 0) return { route, checks: [], unenforced: `${formatAddr(dst)} is not a mesh address: no mesh authorization on either side` };
  if (inMesh.length === 0) return { route, checks: [], unenforced: 'the destination is not in the mesh either (protocol TCP): no mesh authorization on either side' };
  const checks = inMesh.slice(0, MAX_CHECKS).map((f) =>
    checkAuthorization({
      state,
      workload: f.w,
      srcIp: src.ip,
      srcIdentity: undefined,
      dstIp: endpointOf(f.w, f.port, dst.ip).workload.ip ?? '',
      dstPort: f.port,
      enforcedBy: `node agent of node ${f.w.node || '(none)'}, inbound plaintext (${config.ports.inboundPlaintext})`,
      chosen: finals.length === 1,
    }),
  );
  return { route, checks };
}

function verdictOf(route: ExplainedRoute, checks: readonly AuthorizationCheck[], unenforced: string | undefined): { verdict: Explanation['verdict']; summary: string } {
  if (route.error) return { verdict: 'error', summary: `refused by the outbound path (${route.error.code}): ${route.error.message}` };
  if (checks.length === 0) return { verdict: 'unenforced', summary: unenforced ?? 'no mesh authorization applies' };
  const decisive = checks.find((c) => c.chosen);
  if (decisive) return { verdict: decisive.allowed ? 'allow' : 'deny', summary: decisive.reason };
  const allowed = checks.filter((c) => c.allowed).length;
  if (allowed === checks.length) return { verdict: 'allow', summary: checks.length === 1 ? checks[0]!.reason : `every candidate endpoint allows it (${checks[0]!.reason})` };
  if (allowed === 0) return { verdict: 'deny', summary: checks.length === 1 ? checks[0]!.reason : `every candidate endpoint denies it (${checks[0]!.reason})` };
  return { verdict: 'mixed', summary: `depends on the endpoint picked: ${allowed} of ${checks.length} candidates allow it, the others deny it` };
}
