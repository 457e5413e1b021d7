// Multi-pod Linux network topology for the root-only test tier, the demo and the benchmarks: one
// bridge in the root netns (the gateway) and one network namespace per pod, wired by veth pairs.
// Everything carries a random per-run id; destroy() (also run on exit/SIGINT/SIGTERM) removes it all.

import { execFile, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

export interface TopologyPod {
  readonly name: string;
  /** `ambit-<id>-<name>`, as listed by `ip netns list`. */
  readonly netnsName: string;
  /** `/var/run/netns/<netnsName>`: what nsenter --net= and the in-pod code take. */
  readonly netnsPath: string;
  /** The pod's address on the bridge (on its `eth0`), e.g. 10.37.0.2. */
  readonly ip: string;
  /** The pod's IPv6 (ULA) address on `eth0`, e.g. fd00:37::2: pods are dual-stack, as on a dual-stack cluster. */
  readonly ip6: string;
  /** The root-netns end of the pod's veth pair (enslaved to the bridge); the pod end is `eth0`. */
  readonly veth: string;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface ExecOptions {
  /** Written to stdin. */
  readonly input?: string;
  /** Kill after this long (default 30 s); the result then has code -1. */
  readonly timeoutMs?: number;
}

export interface Topology {
  readonly id: string;
  /** Bridge name in the root netns (`ambr<id>`). */
  readonly bridge: string;
  /** The bridge's address: every pod's default gateway. */
  readonly gatewayIp: string;
  /** `10.<x>.0.0/24`: pods and gateway. */
  readonly podCidr: string;
  readonly pods: ReadonlyMap<string, TopologyPod>;
  /** An address in `10.<x>.96.0/24` (not on any interface): use as a service VIP. */
  vip(n: number): string;
  /** Runs `ip netns exec <pod netns> cmd...`; never rejects on a non-zero exit. */
  exec(pod: string, cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts a long-running process in the pod netns; destroy() kills it (and its process group). */
  spawn(pod: string, cmd: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Removes namespaces, veths and the bridge and kills what runs in them. Idempotent. */
  destroy(): Promise<void>;
}

export interface TopologySpec {
  readonly pods: ReadonlyArray<{ readonly name: string }>;
}

/** The netns tier needs root (CI runs as root); it fails rather than skips without it. */
export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return;
  throw new Error(
    `${what} needs root: it creates network namespaces, veths, a bridge and iptables rules. ` +
      'Run the netns tier as root (CI does: sudo npm run test:netns); it is never skipped.',
  );
}

const POD_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const MAX_PODS = 200;

function run(argv: readonly string[], input?: string, timeoutMs = 30_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr) + (err && code === -1 ? err.message : ''), code });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

async function must(argv: readonly string[], input?: string): Promise<string> {
  const r = await run(argv, input);
  if (r.code !== 0) throw new Error(`topology: \`${argv.join(' ')}\` failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Second octet x of 10.x.0.0/16 not overlapping any IPv4 route of the root netns (default excepted). */
async function pickSubnet(): Promise<number> {
  const routes = (await must(['ip', '-4', '-o', 'route', 'show', 'table', 'all'])).split('\n');
  const taken = new Set<number>();
  let all = false;
  for (const line of routes) {
    const m = /^(\d+)\.(\d+)\.\d+\.\d+(?:\/(\d+))?/.exec(line.replace(/^(local|broadcast|unicast|blackhole|unreachable|prohibit)\s+/, ''));
    if (!m || m[1] !== '10') continue;
    const len = m[3] === undefined ? 32 : Number(m[3]);
    if (len < 16) all = true;
    else taken.add(Number(m[2]));
  }
  const free = Array.from({ length: 254 }, (_, i) => i + 1).filter((x) => !taken.has(x));
  if (all || free.length === 0) {
    throw new Error('topology: the root netns routes all of 10.0.0.0/8 somewhere; no private 10.x.0.0/16 is free for the test bridge');
  }
  return free[randomBytes(2).readUInt16BE(0) % free.length]!;
}

/** Live topologies, torn down synchronously if the process exits or is interrupted. */
const live = new Map<string, () => void>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const sweep = (): void => {
    for (const teardown of [...live.values()]) teardown();
  };
  process.on('exit', sweep);
  // A signal only ends the process when nobody else handles it; if the embedding program (demo,
  // bench) has its own handler, it shuts down gracefully first and the 'exit' hook sweeps after.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      if (process.listenerCount(sig) > 0) return;
      sweep();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Runs `teardown` (synchronous) if the process exits or is interrupted while `key` is registered;
 * call the returned function once torn down normally. Topologies and loopback namespaces share it. */
export function teardownOnExit(key: string, teardown: () => void): () => void {
  installExitHooks();
  live.set(key, teardown);
  return () => void live.delete(key);
}

/** Pids whose network namespace is `netnsName` (never this process or its parent). */
export function netnsPids(netnsName: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', netnsName], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid && pid !== process.ppid);
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Creates the bridge and the pods; on any failure removes what was made and rethrows. */
export async function createTopology(spec: TopologySpec): Promise<Topology> {
  requireRoot('createTopology');
  if (spec.pods.length === 0 || spec.pods.length > MAX_PODS) throw new Error(`topology: 1..${MAX_PODS} pods, got ${spec.pods.length}`);
  const names = new Set<string>();
  for (const p of spec.pods) {
    if (!POD_NAME.test(p.name)) throw new Error(`topology: pod name ${JSON.stringify(p.name)} must match ${POD_NAME}`);
    if (names.has(p.name)) throw new Error(`topology: duplicate pod name ${p.name}`);
    names.add(p.name);
  }
  const id = randomBytes(3).toString('hex');
  const x = await pickSubnet();
  const bridge = `ambr${id}`;
  const gatewayIp = `10.${x}.0.1`;
  const pods = new Map<string, TopologyPod>();
  spec.pods.forEach((p, i) => {
    const netnsName = `ambit-${id}-${p.name}`;
    pods.set(p.name, { name: p.name, netnsName, netnsPath: `/var/run/netns/${netnsName}`, ip: `10.${x}.0.${i + 2}`, ip6: `fd00:${x}::${(i + 2).toString(16)}`, veth: `av${id}h${i}` });
  });
  const children = new Set<ChildProcess>();
  let destroyed = false;

  // Synchronous so it can also run from process 'exit'. Order matters: processes holding a netns
  // keep its veth alive, so they die first; then the netns (taking the pod veth ends), then leftover
  // root-side veths and the bridge (which takes its address and connected route with it).
  const teardownSync = (): void => {
    destroyed = true;
    live.delete(id);
    for (const c of children) if (c.pid !== undefined && c.exitCode === null) killGroup(c.pid);
    for (const pod of pods.values()) for (const pid of netnsPids(pod.netnsName)) killQuietly(pid, 'SIGKILL');
    for (const pod of pods.values()) {
      spawnSync('ip', ['netns', 'del', pod.netnsName], { stdio: 'ignore' });
      spawnSync('ip', ['link', 'del', pod.veth], { stdio: 'ignore' });
    }
    spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
  };

  const topology: Topology = {
    id,
    bridge,
    gatewayIp,
    podCidr: `10.${x}.0.0/24`,
    pods,
    vip: (n) => {
      if (!Number.isInteger(n) || n < 1 || n > 254) throw new Error(`topology: vip index 1..254, got ${n}`);
      return `10.${x}.96.${n}`;
    },
    exec: (pod, cmd, opts = {}) => run(['ip', 'netns', 'exec', podOf(pods, pod).netnsName, ...cmd], opts.input, opts.timeoutMs),
    spawn: (pod, cmd, opts = {}) => {
      if (destroyed) throw new Error(`topology ${id}: spawn after destroy`);
      // Own process group, so destroy() also reaches whatever the command forks.
      const child = spawn('ip', ['netns', 'exec', podOf(pods, pod).netnsName, ...cmd], { stdio: 'pipe', ...opts, detached: true });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    destroy: async () => {
      if (destroyed) return;
      teardownSync();
      await Promise.resolve();
    },
  };

  installExitHooks();
  live.set(id, teardownSync);
  try {
    await must(['ip', 'link', 'add', bridge, 'type', 'bridge']);
    // Nothing arriving on the bridge is forwarded by the root netns, even with ip_forward=1, so the
    // pods' default route can never leak packets beyond this topology. The bridge itself has no
    // IPv6 (no RA/SLAAC noise); pods reach each other's ULA addresses on the link, with no router.
    await writeFile(`/proc/sys/net/ipv4/conf/${bridge}/forwarding`, '0');
    await writeFile(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1');
    await must(['ip', 'addr', 'add', `${gatewayIp}/24`, 'dev', bridge]);
    await must(['ip', 'link', 'set', bridge, 'up']);
    for (const pod of pods.values()) await addPod(pod, bridge, gatewayIp);
  } catch (err) {
    teardownSync();
    throw err;
  }
  return topology;
}

function podOf(pods: ReadonlyMap<string, TopologyPod>, name: string): TopologyPod {
  const p = pods.get(name);
  if (!p) throw new Error(`topology: no pod named ${name}`);
  return p;
}

/** SIGKILL to the process group led by `pid` (a child spawned `detached`), else to `pid` alone. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    killQuietly(pid, 'SIGKILL');
  }
}

async function addPod(pod: TopologyPod, bridge: string, gatewayIp: string): Promise<void> {
  await must(['ip', 'netns', 'add', pod.netnsName]);
  await must(['ip', 'link', 'add', pod.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.netnsName]);
  await must(['ip', 'link', 'set', pod.veth, 'master', bridge, 'up']);
  const inPod = [
    'link set lo up',
    `addr add ${pod.ip}/24 dev eth0`,
    // No DAD: the address is usable at once (no 'tentative' state to wait out).
    `addr add ${pod.ip6}/64 dev eth0 nodad`,
    'link set eth0 up',
    `route add default via ${gatewayIp} dev eth0`,
  ].join('\n');
  await must(['ip', '-n', pod.netnsName, '-batch', '-'], `${inPod}\n`);
}

/** What of topology `id` still exists (namespaces, links, iptables lines); [] means clean. */
export async function findLeftovers(id: string): Promise<string[]> {
  const found: string[] = [];
  const netns = await run(['ip', 'netns', 'list']);
  for (const line of netns.stdout.split('\n')) if (line.startsWith(`ambit-${id}-`)) found.push(`netns ${line.split(' ')[0]}`);
  const links = await run(['ip', '-o', 'link', 'show']);
  for (const line of links.stdout.split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name !== undefined && name.includes(id)) found.push(`link ${name}`);
  }
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const r = await run([save]);
    for (const line of r.stdout.split('\n')) if (line.includes(id)) found.push(`${save}: ${line}`);
  }
  const rules = await run(['ip', 'rule', 'show']);
  for (const line of rules.stdout.split('\n')) if (line.includes(id)) found.push(`ip rule ${line}`);
  return found;
}

/** Throws listing whatever of topology `id` is left in the root netns. */
export async function assertNoLeftovers(id: string): Promise<void> {
  const left = await findLeftovers(id);
  if (left.length > 0) throw new Error(`topology ${id} left behind:\n  ${left.join('\n  ')}`);
}
