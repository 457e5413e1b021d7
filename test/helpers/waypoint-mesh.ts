// The in-pod mesh of cp-inpod-mesh.ts plus a waypoint: pod `wp` on the bridge running `ambit waypoint`
// (xDS and its certificate from `ambit control` over TLS with its own token), JSON echo servers in
// s1 (v1) and s2 (v2), and helpers to curl from a client pod, reconfigure routes and read what backends saw.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GrpcCallResult } from './pod-grpc-client.js';
import type { WsSessionResult } from './pod-ws-client.js';
import { CpInpodMesh, enrollmentView, type NodeName } from './cp-inpod-mesh.js';
import { MESH_NAMESPACE, type ManifestPod } from './inpod-manifests.js';
import { POD_SERVER_PATH } from './pod-server-process.js';
import type { SeenRequest } from './pod-echo-http.js';
import type { ExecResult } from './netns-topology.js';
import { WaypointProcessHandle } from './waypoint-process.js';
import {
  ECHO_TARGETS, WAYPOINT_NAME, WP_POD_NAMES, hostnameOf, waypointMeshFiles,
  type EchoService, type WaypointMeshAddresses, type WpPodName,
} from './waypoint-manifests.js';

const GRPC_CLIENT = fileURLToPath(new URL('./pod-grpc-client.js', import.meta.url));
const WS_CLIENT = fileURLToPath(new URL('./pod-ws-client.js', import.meta.url));

export const WAYPOINT_IDENTITY = `spiffe://cluster.local/ns/${MESH_NAMESPACE}/sa/${WAYPOINT_NAME}`;
export const SERVERS = ['s1', 's2'] as const;
export type ServerPod = (typeof SERVERS)[number];
const VERSION: Record<ServerPod, string> = { s1: 'v1', s2: 'v2' };

/** One curl: exit code, HTTP status, response headers (lower-case names, every line) and body. */
export interface CurlResult {
  readonly exit: number;
  readonly status: number;
  readonly headers: Record<string, string[]>;
  readonly body: string;
  readonly error: string;
}

/** The JSON body of the echo servers (what the backend saw), or undefined if the body is not one. */
export function echoed(r: CurlResult): SeenRequest | undefined {
  try {
    const v = JSON.parse(r.body) as SeenRequest;
    return typeof v.pod === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Splits `curl -i` output: the last header block (after any 1xx) and the body. */
export function parseCurlI(out: string): { status: number; headers: Record<string, string[]>; body: string } {
  let rest = out;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return { status: 0, headers: {}, body: rest };
    const lines = rest.slice(0, end).split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    rest = rest.slice(end + 4);
    if (status >= 100 && status < 200 && status !== 101) continue;
    const headers: Record<string, string[]> = {};
    for (const l of lines.slice(1)) {
      const at = l.indexOf(':');
      (headers[l.slice(0, at).toLowerCase()] ??= []).push(l.slice(at + 1).trim());
    }
    return { status, headers, body: rest };
  }
}

/** Start-up stages of WaypointMesh.start, each reported once done. */
export type WaypointMeshStage = 'topology' | 'control-plane' | 'agents' | 'servers' | 'waypoint';

export class WaypointMesh {
  /** Lines the echo servers printed (one per request they answered), per pod, in arrival order. */
  readonly seen = new Map<ServerPod, SeenRequest[]>(SERVERS.map((s) => [s, []]));
  readonly waypoint: WaypointProcessHandle;

  private constructor(
    readonly mesh: CpInpodMesh,
    readonly addresses: WaypointMeshAddresses,
    token: string,
  ) {
    const wp = addresses.pods.wp;
    const cp = mesh.cp;
    this.waypoint = new WaypointProcessHandle({
      bind: wp.ip,
      ports: { hbone: 15008, admin: 15000, stats: 15020, readiness: 15021 },
      // Istio's waypoint pod variables (istio-discovery files/waypoint.yaml).
      env: {
        POD_NAMESPACE: MESH_NAMESPACE, WAYPOINT_NAME, SERVICE_ACCOUNT: WAYPOINT_NAME, POD_NAME: 'wp', INSTANCE_IP: wp.ip, NODE_NAME: 'node1',
        XDS_ADDRESS: cp!.tlsAddress, XDS_ROOT_CA: mesh.rootCertPath,
        AMBIT_CA_PROVIDER: 'istiod', CA_ADDR: cp!.tlsAddress, CA_ROOT_CA: mesh.rootCertPath,
        AUTH_TOKEN: token, AMBIT_STATE_DIR: join(mesh.dir, 'waypoint-state'),
      },
      args: [],
      spawn: (argv, env) => mesh.topo.spawn('wp', argv, { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    });
  }

  /**
   * Topology, control plane, agents, echo servers, waypoint; resolves once traffic can flow via the
   * waypoint. `onStage` is called after each stage (the waypoint demo narrates them).
   */
  static async start(opts: { onStage?: (stage: WaypointMeshStage, mesh: CpInpodMesh) => void | Promise<void> } = {}): Promise<WaypointMesh> {
    const token = randomBytes(16).toString('hex');
    const mesh = await CpInpodMesh.create({ ambient: true, extraPods: ['wp'], controlOn: 'bridge', extraTokens: { [token]: `${MESH_NAMESPACE}/${WAYPOINT_NAME}` } });
    const pods = Object.fromEntries(WP_POD_NAMES.map((n) => [n, mesh.topo.pods.get(n)!])) as unknown as Record<WpPodName, ManifestPod>;
    const t = mesh.topo;
    const addresses: WaypointMeshAddresses = { pods, vips: { echo: t.vip(10), 'echo-v1': t.vip(11), 'echo-v2': t.vip(12), waypoint: t.vip(20) } };
    for (const [file, yaml] of Object.entries(waypointMeshFiles(addresses))) mesh.manifests.write(file, yaml);
    const stage = async (s: WaypointMeshStage): Promise<void> => opts.onStage?.(s, mesh);
    let wm: WaypointMesh | undefined;
    try {
      await stage('topology');
      await mesh.startControlPlane();
      await stage('control-plane');
      await mesh.startAgents();
      await stage('agents');
      wm = new WaypointMesh(mesh, addresses, token);
      for (const s of SERVERS) mesh.servers.push(await wm.startEchoServer(s));
      await stage('servers');
      await wm.waypoint.start(60_000);
      await mesh.waitEnrollment({ captured: { node1: ['c1', 'c2'], node2: ['s1', 's2'] }, protocol: { c1: 'HBONE', c2: 'HBONE', s1: 'HBONE', s2: 'HBONE', wp: 'HBONE' } }, 30_000);
      await wm.waitAgentsSeeWaypoint();
      await stage('waypoint');
    } catch (err) {
      wm?.waypoint.kill();
      await mesh.close();
      throw err;
    }
    return wm;
  }

  get topo(): CpInpodMesh['topo'] {
    return this.mesh.topo;
  }

  vip(svc: EchoService): string {
    return this.addresses.vips[svc];
  }

  ip(pod: WpPodName): string {
    return this.addresses.pods[pod].ip;
  }

  /** The JSON echo server (HTTP 8080 + WebSocket, TCP echo 9000, gRPC 9090) in `pod`; its stdout feeds `seen`. */
  private async startEchoServer(pod: ServerPod): Promise<ChildProcess> {
    const child = this.topo.spawn(pod, [process.execPath, POD_SERVER_PATH, '--json', '--http', String(ECHO_TARGETS.http), '--echo', String(ECHO_TARGETS.tcp), '--grpc', String(ECHO_TARGETS.grpc)], {
      env: { ...process.env, POD_NAME: pod, POD_VERSION: VERSION[pod] },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const into = this.seen.get(pod)!;
    await new Promise<void>((resolve, reject) => {
      let partial = '';
      child.stdout!.on('data', (d: Buffer) => {
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop()!;
        for (const line of parts) {
          if (line === 'ready') resolve();
          else if (line.startsWith('{')) into.push(JSON.parse(line) as SeenRequest);
        }
      });
      child.once('exit', (code) => reject(new Error(`echo server in ${pod} exited with ${code}`)));
    });
    return child;
  }

  /** Both agents hold Service echo with this waypoint (the outbound decision needs it). */
  private async waitAgentsSeeWaypoint(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await Promise.all((['node1', 'node2'] as NodeName[]).map(async (n) => {
        const dump = await this.mesh.agent(n).configDump();
        const svc = (dump.services as Array<{ hostname: string; waypoint?: unknown }> | undefined)?.find((s) => s.hostname === hostnameOf('echo'));
        return svc?.waypoint !== undefined && svc.waypoint !== null;
      }));
      if (ok.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`agents do not see the waypoint of ${hostnameOf('echo')} after ${timeoutMs} ms: ${JSON.stringify(await enrollmentView(this.mesh.agent('node1')))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs a command in a pod's netns. */
  exec(pod: WpPodName, cmd: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
    return this.topo.exec(pod, cmd, { timeoutMs });
  }

  /** `curl -sS -i` from `pod` (default c1) with extra arguments; never rejects. */
  async curl(url: string, args: readonly string[] = [], opts: { pod?: WpPodName; maxTimeS?: number } = {}): Promise<CurlResult> {
    const maxTimeS = opts.maxTimeS ?? 10;
    const r = await this.exec(opts.pod ?? 'c1', ['curl', '-sS', '-i', '--max-time', String(maxTimeS), ...args, url], (maxTimeS + 10) * 1000);
    return { exit: r.code, ...parseCurlI(r.stdout), error: r.stderr.trim() };
  }

  /** `hey -n N -c C` from c1; the status code distribution (`{200: 1000}`) and the error lines. */
  async hey(url: string, n: number, c: number, extra: readonly string[] = []): Promise<{ statuses: Record<number, number>; errors: string[] }> {
    const r = await this.exec('c1', ['hey', '-n', String(n), '-c', String(c), '-t', '20', ...extra, url], 180_000);
    if (r.code !== 0) throw new Error(`hey failed (${r.code}): ${r.stderr}`);
    const statuses: Record<number, number> = {};
    for (const m of r.stdout.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)) statuses[Number(m[1])] = Number(m[2]);
    const at = r.stdout.indexOf('Error distribution:');
    const errors = at < 0 ? [] : r.stdout.slice(at).split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
    return { statuses, errors };
  }

  /** One unary call of the gRPC echo from c1 (pod-grpc-client.js): status, reply, headers and trailers. */
  async grpc(target: string, method: 'Echo' | 'Fail', request: unknown, metadata: Record<string, string> = {}): Promise<GrpcCallResult> {
    const md = Object.entries(metadata).map(([k, v]) => `${k}=${v}`);
    const r = await this.exec('c1', [process.execPath, GRPC_CLIENT, target, method, JSON.stringify(request), ...md], 30_000);
    if (r.code !== 0) throw new Error(`grpc client failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as GrpcCallResult;
  }

  /** A WebSocket session from c1 (pod-ws-client.js): each message sent as a text frame, the replies read. */
  async webSocket(ip: string, port: number, path: string, messages: readonly string[]): Promise<WsSessionResult> {
    const r = await this.exec('c1', [process.execPath, WS_CLIENT, ip, String(port), path, ...messages], 30_000);
    if (r.code !== 0) throw new Error(`websocket client failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as WsSessionResult;
  }

  /** Opaque TCP from c1: sends `data`, half-closes, returns everything read until the peer closes. */
  async tcp(ip: string, port: number, data: string): Promise<{ code: number; received: string; error: string }> {
    const script = [
      'import socket,sys',
      `s=socket.create_connection((${JSON.stringify(ip)},${port}),timeout=10)`,
      's.sendall(sys.stdin.buffer.read())',
      's.shutdown(socket.SHUT_WR)',
      'out=b""',
      'while True:',
      '  b=s.recv(65536)',
      '  if not b: break',
      '  out+=b',
      'sys.stdout.buffer.write(out)',
    ].join('\n');
    const r = await this.topo.exec('c1', ['python3', '-c', script], { input: data, timeoutMs: 30_000 });
    return { code: r.code, received: r.stdout, error: r.stderr };
  }

  /** `http://<vip of svc>:<port><path>`. */
  url(svc: EchoService, path: string, port = 80): string {
    return `http://${this.vip(svc)}${port === 80 ? '' : `:${port}`}${path}`;
  }

  /** What the echo servers saw since `from` (a `mark()`), optionally only requests whose url starts with `prefix`. */
  seenSince(from: Record<ServerPod, number>, prefix = ''): SeenRequest[] {
    return SERVERS.flatMap((s) => this.seen.get(s)!.slice(from[s]).filter((r) => r.url.startsWith(prefix)));
  }

  mark(): Record<ServerPod, number> {
    return { s1: this.seen.get('s1')!.length, s2: this.seen.get('s2')!.length };
  }

  /** Waits until the backends saw at least `n` requests matching `pred` since `from`; returns them. */
  async waitSeen(from: Record<ServerPod, number>, pred: (r: SeenRequest) => boolean, n = 1, timeoutMs = 5_000): Promise<SeenRequest[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.seenSince(from).filter(pred);
      if (got.length >= n) return got;
      if (Date.now() > deadline) throw new Error(`backends saw ${got.length} of ${n} expected requests within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The WaypointConfig in force at the waypoint, and its version. */
  async waypointConfig(): Promise<{ version: string; config: WaypointConfigView }> {
    const d = await this.waypoint.configDump();
    return { version: d.waypointConfig?.version as string, config: d.waypointConfig?.config as WaypointConfigView };
  }

  /**
   * Writes (or with `undefined` removes) manifests files, then waits until the waypoint's config
   * satisfies `until` — the control plane translated the change and the waypoint applied it.
   */
  async apply(files: Readonly<Record<string, string | undefined>>, until: (c: WaypointConfigView) => boolean, timeoutMs = 20_000): Promise<void> {
    for (const [file, yaml] of Object.entries(files)) {
      if (yaml === undefined) {
        try {
          this.mesh.manifests.remove(file);
        } catch {
          // already absent
        }
      } else {
        this.mesh.manifests.write(file, yaml);
      }
    }
    const deadline = Date.now() + timeoutMs;
    let last: WaypointConfigView | undefined;
    for (;;) {
      last = (await this.waypointConfig()).config;
      if (last && until(last)) return;
      if (Date.now() > deadline) throw new Error(`the waypoint config did not reach the expected state within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Replaces the test's routes (file `routes.yaml`) and waits until the waypoint serves exactly the
   * route objects `expect` names per `service:port` (give each test's routes fresh names: a changed
   * route under the same name is not told apart).
   */
  async setRoutes(yaml: string | undefined, expect: Readonly<Record<string, readonly string[]>>): Promise<void> {
    await this.apply({ 'routes.yaml': yaml }, (c) => Object.entries(expect).every(([key, names]) => routeNames(c, key).join() === [...names].sort().join()));
  }

  async close(): Promise<void> {
    await this.waypoint.stop(5_000).catch(() => undefined);
    await this.mesh.close();
  }
}

/** The parts of the WaypointConfig the tests read. */
export interface WaypointConfigView {
  readonly services: ReadonlyArray<{ readonly hostname: string; readonly ports: ReadonlyArray<{ readonly port: number; readonly protocol: string; readonly routes: ReadonlyArray<{ readonly name: string }> }> }>;
}

/** Names of the route objects (sorted, once each) compiled into `svc:port` (e.g. `echo:80`); [] when none. */
export function routeNames(c: WaypointConfigView, key: string): string[] {
  const [svc, port] = key.split(':');
  const p = c.services.find((s) => s.hostname === hostnameOf(svc!))?.ports.find((x) => x.port === Number(port));
  // Model routes are named `<ns>/<route>.r<rule>.m<match>`.
  return [...new Set((p?.routes ?? []).map((r) => r.name.replace(/^[^/]*\//, '').replace(/\.r\d+\.m\d+$/, '')))].sort();
}
