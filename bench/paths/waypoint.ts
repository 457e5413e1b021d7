// Path 6, the L7 subject: Ambit's waypoint. The client dials a Service VIP; its agent tunnels (HBONE mTLS)
// to the waypoint pod, which routes each request and reaches the server pod over HBONE via the server's agent.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshError } from '../../src/common/errors.js';
import { AGENT_LOG_LEVEL, AgentProcess } from './agent-process.js';
import type { BenchEnv } from './bench-env.js';
import { L7_PROXY_ROLE, type ProxyProcess } from './bench-path.js';
import { PodPairPath, type Entrance } from './pod-pair-path.js';
import { BENCH_SERVICE_PORT, waypointAgentsYaml, waypointIdentity, waypointManifests, type WaypointMesh } from './waypoint-mesh.js';
import { WaypointProcess } from './waypoint-process.js';

/**
 * `topology.vip(n)` slots of the path's Service and of the waypoint's own Service: addresses on no
 * interface, reached by the pods' default route (the client's connect() needs one; the client
 * agent's in-pod capture takes the connection before it is routed).
 */
const SERVICE_VIP_SLOT = 80;
const WAYPOINT_VIP_SLOT = 81;

/**
 * The waypoint in a pod of its own, as nginx (the same veth/bridge hops), on a node with no agent so
 * nothing captures it. Its agents and the waypoint use the run's built-in CA root (BenchPki), so the
 * client agent verifies the waypoint's identity (spiffe://cluster.local/ns/default/sa/waypoint) and
 * the waypoint the server's. The waypoint reads its config from a manifests folder (no control
 * plane in the measurement): the Kubernetes objects equal to the agents' local config. No route:
 * every request goes to the Service's own endpoints, the cheapest L7 decision, as nginx's one upstream.
 *
 * HTTP only (`tcp = false`), as nginx: iperf3 through a waypoint would measure its TCP relay, not
 * its L7 work, and the nginx reference cannot carry TCP either.
 */
export class WaypointPath extends PodPairPath {
  readonly name = 'waypoint';
  readonly description =
    'client pod → Service VIP, agent node1 (in-pod capture) → HBONE mTLS → waypoint pod (ambit waypoint, HTTP/1.1 parsed and routed, ' +
    'manifests mode, no routes: the Service\'s endpoints) → HBONE mTLS → agent node2 → server pod; the waypoint in its own pod like nginx';
  readonly logLevel = `--log-level ${AGENT_LOG_LEVEL} on both agents and the waypoint (warnings and errors; no access-log line per connection or per request)`;
  readonly connections =
    'each new client connection is one HTTP/2 CONNECT stream client agent → waypoint on a pooled, already mTLS-handshaken HBONE session; ' +
    'the waypoint sends requests upstream over keep-alive HTTP/1.1 connections, each one CONNECT stream on a pooled HBONE session to the ' +
    'server agent, reused across requests and client connections (no TLS handshake per connection or request)';
  readonly tcp = false;
  private node1: AgentProcess | null = null;
  private node2: AgentProcess | null = null;
  private waypoint: WaypointProcess | null = null;

  constructor(
    clientPod: string,
    readonly proxyPod: string,
    serverPod: string,
  ) {
    super(clientPod, serverPod);
  }

  override get pods(): readonly string[] {
    return [this.clientPod, this.proxyPod, this.serverPod];
  }

  /** The agents' loopback addresses (`<prefix>.<n>`): above the Ambit L4 paths' (slots 0..), distinct from them. */
  agentBinds(prefix: string): [string, string] {
    return [`${prefix}.201`, `${prefix}.202`];
  }

  /** The mesh of this path in `env`: its three pods and two VIPs. */
  mesh(env: BenchEnv): WaypointMesh {
    const [client, server, waypoint] = [this.clientPod, this.serverPod, this.proxyPod].map((n) => env.pod(n));
    return { client: client!, server: server!, waypoint: waypoint!, vip: env.topology.vip(SERVICE_VIP_SLOT), waypointVip: env.topology.vip(WAYPOINT_VIP_SLOT) };
  }

  protected async startProxies(env: BenchEnv): Promise<Entrance | undefined> {
    const mesh = this.mesh(env);
    const configPath = join(env.workDir, `mesh-${this.name}.yaml`);
    writeFileSync(configPath, waypointAgentsYaml(mesh));
    const manifestsDir = join(env.workDir, `manifests-${this.name}`);
    mkdirSync(manifestsDir, { recursive: true });
    for (const [file, text] of Object.entries(waypointManifests(mesh))) writeFileSync(join(manifestsDir, file), text);
    const common = { configPath, stateDir: env.pki.stateDir };
    const [bind1, bind2] = this.agentBinds(env.loopbackPrefix);
    // The root already sits in the shared state dir (BenchPki), so all three may start together.
    const started = await Promise.allSettled([
      AgentProcess.start(env, { ...common, nodeName: 'node1', bind: bind1 }),
      AgentProcess.start(env, { ...common, nodeName: 'node2', bind: bind2 }),
      WaypointProcess.start(env, { pod: this.proxyPod, ip: mesh.waypoint.ip, manifestsDir, stateDir: env.pki.stateDir }),
    ]);
    const [a, b, w] = started;
    this.node1 = a.status === 'fulfilled' ? a.value : null;
    this.node2 = b.status === 'fulfilled' ? b.value : null;
    this.waypoint = w.status === 'fulfilled' ? w.value : null;
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return { host: mesh.vip, httpPort: BENCH_SERVICE_PORT };
  }

  /**
   * A probe answered without the waypoint would mean the agents went straight to the server (or
   * capture is off), and we would measure the L4 path again: the client agent, the waypoint (as a
   * request it answered, reporter="waypoint") and the server agent — for a connection whose mTLS
   * peer was the waypoint — must all have counted it.
   */
  protected async verifyProbe(): Promise<void> {
    const opened = 'istio_tcp_connections_opened_total';
    const [out, requests, inb] = await Promise.all([
      this.node1?.counter(opened) ?? 0,
      this.waypoint?.counter('istio_requests_total', { reporter: 'waypoint', response_code: '200' }) ?? 0,
      this.node2?.counter(opened, { source_principal: waypointIdentity() }) ?? 0,
    ]);
    if (!(out > 0 && requests > 0 && inb > 0)) {
      throw new MeshError(
        'BENCH_TOOL',
        `the probe did not cross the waypoint (node1 ${opened} ${out}, waypoint istio_requests_total{response_code="200"} ${requests}, ` +
          `node2 ${opened}{source_principal="${waypointIdentity()}"} ${inb})`,
      );
    }
  }

  /** Client agent, the waypoint (the L7 proxy, sampled like nginx's worker), server agent. */
  proxies(): readonly ProxyProcess[] {
    if (this.node1 === null || this.node2 === null || this.waypoint === null) return [];
    return [
      { role: 'client-side', label: 'agent node1', pid: this.node1.pid },
      { role: L7_PROXY_ROLE, label: 'waypoint', pid: this.waypoint.pid },
      { role: 'server-side', label: 'agent node2', pid: this.node2.pid },
    ];
  }

  /** Agents' and waypoint's output (warnings, errors) for the report when a measurement failed. */
  diagnostics(): string {
    const parts = [this.node1, this.node2].map((a) => (a ? `${a.spec.nodeName}: ${a.output().slice(-2000)}` : ''));
    if (this.waypoint) parts.push(`waypoint: ${this.waypoint.output().slice(-2000)}`);
    return parts.join('\n');
  }

  protected async stopProxies(): Promise<void> {
    await Promise.all([this.node1?.stop(), this.waypoint?.stop(), this.node2?.stop()].map((p) => p?.catch(() => undefined)));
    this.node1 = null;
    this.node2 = null;
    this.waypoint = null;
  }
}
