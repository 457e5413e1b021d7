// The in-pod mesh for real, as a suite a test file registers: pod network namespaces on a bridge,
// two agents ("nodes") capturing their pods' traffic with iptables, unmodified Debian clients in the
// pods. Test files run it as is (test/netns/inpod-mesh) and with agent settings (worker threads).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { startAgent, tempDir, writeConfig, type TestAgent } from './agent.js';
import { assertNoLeftovers, createTopology, requireRoot, type Topology } from './netns-topology.js';
import { randomLoopbackPrefix, tcpBufferMax } from './tcp.js';
import { waitUntil } from './two-node-mesh.js';
import { inpodMeshYaml, type InpodMesh } from './inpod-mesh-config.js';
import { POD_SERVER_PATH, startPodServer } from './pod-server-process.js';


export interface InpodMeshContext {
  readonly topo: Topology;
  readonly mesh: InpodMesh & { c1Veth: string };
  readonly node1: TestAgent;
  readonly node2: TestAgent;
}

/**
 * Registers the in-pod mesh's hooks and tests in the calling test file; `agentEnv` adds settings
 * to both agents. The returned context is filled by the suite's `before` hook.
 */
export function inpodMeshSuite(agentEnv: Record<string, string> = {}): InpodMeshContext {
  let topo: Topology;
  let mesh: InpodMesh & { c1Veth: string };
  let configPath: string;
  let node1: TestAgent;
  let node2: TestAgent;
  const servers: ChildProcess[] = [];

  async function reconfigure(policies: string): Promise<void> {
    const v1 = node1.agent.source.version;
    const v2 = node2.agent.source.version;
    writeConfig(join(configPath, '..'), inpodMeshYaml(mesh, policies));
    await waitUntil(() => node1.agent.source.version > v1 && node2.agent.source.version > v2);
  }

  async function curl(pod: string, url: string): Promise<{ code: number; body: string }> {
    const r = await topo.exec(pod, ['curl', '-sS', '--max-time', '5', url], { timeoutMs: 10_000 });
    return { code: r.code, body: r.stdout };
  }

  before(async () => {
    requireRoot('the in-pod netns tests');
    topo = await createTopology({ pods: [{ name: 'c1' }, { name: 'c2' }, { name: 's1' }, { name: 's2' }, { name: 'ext' }] });
    const pod = (n: string) => topo.pods.get(n)!;
    mesh = {
      c1: pod('c1'),
      c2: pod('c2'),
      s1: pod('s1'),
      s2: pod('s2'),
      ext: pod('ext'),
      vip: topo.vip(10),
      c1Veth: pod('c1').veth,
    };
    const dir = tempDir();
    configPath = writeConfig(dir, inpodMeshYaml(mesh));
    const stateDir = join(dir, 'state');
    const lo = randomLoopbackPrefix();
    node1 = await startAgent({ nodeName: 'node1', bind: `${lo}.1`, configPath, stateDir, env: { AMBIT_INBOUND_BIND: 'any', ...agentEnv } });
    node2 = await startAgent({ nodeName: 'node2', bind: `${lo}.2`, configPath, stateDir, env: { AMBIT_INBOUND_BIND: 'any', ...agentEnv } });
    servers.push(...(await Promise.all(['s1', 's2', 'ext'].map((p) => startPodServer(topo, p)))));
  });

  after(async () => {
    node1?.agent.destroy();
    node2?.agent.destroy();
    for (const s of servers) s.kill('SIGKILL');
    const id = topo?.id;
    await topo?.destroy();
    if (id) await assertNoLeftovers(id);
  });

  test('curl from a pod on node 1 reaches pods on node 2 by pod IP and by service VIP; the server sees the client pod IP', async () => {
    const byIp = await curl('c1', `http://${mesh.s1.ip}:8080/by-ip`);
    assert.equal(byIp.code, 0, byIp.body);
    assert.equal(byIp.body, `hello from s1; client=${mesh.c1.ip}; path=/by-ip\n`);
    const byVip = await curl('c1', `http://${mesh.vip}/by-vip`);
    assert.equal(byVip.code, 0);
    assert.match(byVip.body, new RegExp(`^hello from s[12]; client=${mesh.c1.ip.replace(/\./g, '\\.')}; path=/by-vip\n$`));
    const inbound = await node2.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'inbound' && l['src.identity'] === 'spiffe://cluster.local/ns/default/sa/client');
    assert.equal(inbound['src.workload'], 'c1');
    const outbound = await node1.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'outbound' && l['dst.hbone_addr'] === `${mesh.s1.ip}:8080`);
    assert.equal(outbound['dst.addr'], `${mesh.s1.ip}:15008`);
  });

  test('nc from a pod streams through the mesh to an echo server, with half-close', async () => {
    const payload = 'line one\nline two\n';
    const r = await topo.exec('c1', ['nc', '-N', '-w', '5', mesh.s2.ip, '9000'], { input: payload, timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, payload);
  });

  test("a pod's own app on the agent's admin/stats ports is reached through the mesh: in-pod only the proxy ports are refused", async () => {
    // s1 serves HTTP on 15020 and echo on 15000 itself; the host's admin/stats are not in its netns.
    const own = topo.spawn('s1', [process.execPath, POD_SERVER_PATH, '--http', '15020', '--echo', '15000'], {
      env: { ...process.env, POD_NAME: 's1-own-ports' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    servers.push(own);
    await new Promise<void>((resolve) => own.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const http = await curl('c1', `http://${mesh.s1.ip}:15020/app`);
    assert.equal(http.code, 0, http.body);
    assert.equal(http.body, `hello from s1-own-ports; client=${mesh.c1.ip}; path=/app\n`);
    const echo = await topo.exec('c1', ['nc', '-N', '-w', '5', mesh.s1.ip, '15000'], { input: 'to the app\n', timeoutMs: 10_000 });
    assert.equal(echo.stdout, 'to the app\n');
    await node2.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'inbound' && l['dst.hbone_addr'] === `${mesh.s1.ip}:15000`);
    // A proxy port stays refused at the pod's inbound (503 SELF_CALL): curl gets no answer.
    const proxyPort = await curl('c1', `http://${mesh.s1.ip}:15006/`);
    assert.notEqual(proxyPort.code, 0);
    await node2.logs.waitFor((l) => l.msg === 'connection failed' && l.direction === 'inbound' && /own ports/.test(String(l.error)));
  });

  test('between the nodes there is only TLS to port 15008 on the wire', async () => {
    // On c1's veth (root end), not on the bridge device: frames the bridge forwards between its
    // ports never reach the bridge's own interface, so a capture there sees nothing.
    const pcap = join(tempDir(), 'wire.pcap');
    const dump = spawn('tcpdump', ['-i', mesh.c1Veth, '--immediate-mode', '-Z', 'root', '-nn', '-U', '-w', pcap, `tcp and host ${mesh.c1.ip}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve) => dump.stderr!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()));
    const r = await curl('c1', `http://${mesh.s1.ip}:8080/secret-path-on-the-wire`);
    assert.equal(r.code, 0);
    // Immediate mode hands each packet to tcpdump at once; the pause lets it write the last FIN/ACKs.
    await new Promise((resolve) => setTimeout(resolve, 300));
    dump.kill('SIGINT');
    await once(dump, 'exit');
    const all = await run('tcpdump', ['-r', pcap, '-nn']);
    const lines = all.split('\n').filter((l) => l.includes(' IP '));
    assert.ok(lines.length > 0, 'captured the connection');
    for (const l of lines) assert.match(l, /\.15008[ :]/, `non-HBONE packet on the bridge: ${l}`);
    const raw = readFileSync(pcap);
    assert.equal(raw.includes(Buffer.from('secret-path-on-the-wire')), false, 'the HTTP request must not be visible in clear');
    // TLS application-data records (type 0x17, legacy version 0x0303) carry it; the handshake may be
    // absent here because the pool reuses the HBONE connection opened by the first test.
    assert.ok(raw.includes(Buffer.from([0x17, 0x03, 0x03])), 'TLS application data records on the wire');
  });

  async function run(cmd: string, args: string[]): Promise<string> {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await once(child, 'exit');
    return out;
  }

  interface IperfResult {
    end: { sum_sent: { bytes: number; bits_per_second: number }; sum_received: { bytes: number; bits_per_second: number } };
  }

  async function iperf(args: string[]): Promise<IperfResult> {
    const server = topo.spawn('s1', ['iperf3', '-s', '-1', '-p', '5201', '--forceflush'], { stdio: ['ignore', 'pipe', 'ignore'] });
    servers.push(server);
    // Registered now: the one-off server may exit before the client's result has been read.
    const exited = once(server, 'exit');
    await new Promise<void>((resolve) => server.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()));
    const r = await topo.exec('c1', ['iperf3', '-c', mesh.s1.ip, '-p', '5201', '-t', '2', '-J', ...args], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stdout.slice(-500));
    await exited;
    return JSON.parse(r.stdout) as IperfResult;
  }

  // iperf3's receiver stops counting at the end-of-test message while data may still be in flight,
  // so its byte counts are bounded, not equal (exact accounting is the sha256 test below). In flight
  // at most: per stream, three TCP hops' socket buffers (app→proxy, proxy→proxy, proxy→app, each
  // send + receive maxima) plus the HTTP/2 connection window (16 MiB).
  const inFlightBound = (streams: number): number => streams * 3 * (tcpBufferMax('tcp_rmem') + tcpBufferMax('tcp_wmem')) + (16 << 20);
  for (const variant of [[], ['-R'], ['-P', '4']]) {
    test(`iperf3 ${variant.join(' ') || 'single stream'} through the mesh: the receiver gets what was sent, less at most what was in flight`, async () => {
      const res = await iperf(variant);
      const { sum_sent: sent, sum_received: received } = res.end;
      assert.ok(sent.bytes > 1_000_000, `sent ${sent.bytes}`);
      assert.ok(received.bytes <= sent.bytes, `received ${received.bytes} > sent ${sent.bytes}`);
      const streams = variant[0] === '-P' ? Number(variant[1]) : 1;
      assert.ok(sent.bytes - received.bytes <= inFlightBound(streams), `lost ${sent.bytes - received.bytes} bytes`);
      assert.ok(received.bits_per_second > 0);
    });
  }

  function lastLines(agent: TestAgent, n = 20): string {
    return agent.logs.lines.slice(-n).map((l) => JSON.stringify(l)).join('\n');
  }

  test('64 MiB of random bytes go through the mesh to an echo server and come back bit-exact', async () => {
    const script = `head -c 67108864 /dev/urandom > /tmp/ambit-$$.bin; sha256sum < /tmp/ambit-$$.bin; nc -N ${mesh.s2.ip} 9000 < /tmp/ambit-$$.bin | sha256sum; wc -c < /tmp/ambit-$$.bin; rm -f /tmp/ambit-$$.bin`;
    const r = await topo.exec('c1', ['sh', '-c', script], { timeoutMs: 60_000 });
    // Everything in every message: a failure here must say whether bytes were lost, changed or late.
    const detail = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nagent node1 (last lines):\n${lastLines(node1)}\nagent node2:\n${lastLines(node2)}`;
    assert.equal(r.code, 0, detail);
    const [sent, echoed, size] = r.stdout.trim().split('\n');
    assert.equal(size?.trim(), '67108864', detail);
    assert.equal(echoed, sent, detail);
  });

  test('identity-based policy: an ALLOW by principal admits one client pod and refuses another', async () => {
    await reconfigure(`- name: only-client
  namespace: default
  scope: Namespace
  action: Allow
  rules:
  - - - principals: [{Exact: "cluster.local/ns/default/sa/client"}]
`);
    try {
      const ok = await curl('c1', `http://${mesh.s2.ip}:8080/allowed`);
      assert.equal(ok.code, 0);
      assert.match(ok.body, /hello from s2/);
      const denied = await curl('c2', `http://${mesh.s2.ip}:8080/denied`);
      assert.notEqual(denied.code, 0, 'c2 must be refused');
      await node2.logs.waitFor((l) => l.msg === 'connection complete' && l['src.identity'] === 'spiffe://cluster.local/ns/default/sa/other' && /denied/.test(String(l.error)));
    } finally {
      await reconfigure('');
    }
  });

  test('STRICT refuses plaintext from the non-mesh pod; PERMISSIVE admits it', async () => {
    const permissive = await curl('ext', `http://${mesh.s1.ip}:8080/permissive`);
    assert.equal(permissive.code, 0, permissive.body);
    assert.equal(permissive.body, `hello from s1; client=${mesh.ext.ip}; path=/permissive\n`);
    await reconfigure(`- name: istio_converted_static_strict
  namespace: istio-system
  scope: Global
  action: Deny
  rules:
  - - - notPrincipals: [{Presence: []}]
`);
    try {
      const strict = await curl('ext', `http://${mesh.s1.ip}:8080/strict`);
      assert.notEqual(strict.code, 0, 'plaintext must be refused under STRICT');
      const mtls = await curl('c1', `http://${mesh.s1.ip}:8080/mtls`);
      assert.equal(mtls.code, 0, 'mesh traffic still flows under STRICT');
    } finally {
      await reconfigure('');
    }
  });

  test('IPv6 from a captured pod is proxied, not black-holed: a non-mesh IPv6 server is reached through passthrough', async () => {
    const ext6 = topo.pods.get('ext')!.ip6;
    const c16 = topo.pods.get('c1')!.ip6;
    // The pod netns has IPv6, so capture redirects its IPv6 TCP too; something must accept it.
    const r = await curl('c1', `http://[${ext6}]:8080/v6`);
    assert.equal(r.code, 0, r.body);
    assert.equal(r.body, `hello from ext; client=${c16}; path=/v6\n`);
    const line = await node1.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'outbound' && l['dst.addr'] === `[${ext6}]:8080`);
    assert.equal(line['src.workload'], 'c1');
  });

  test('dual-stack workloads: HBONE over IPv6 between the nodes, and the app sees the client pod IPv6 address', async () => {
    const s16 = topo.pods.get('s1')!.ip6;
    const c16 = topo.pods.get('c1')!.ip6;
    const r = await curl('c1', `http://[${s16}]:8080/hbone-v6`);
    assert.equal(r.code, 0, r.body);
    assert.equal(r.body, `hello from s1; client=${c16}; path=/hbone-v6\n`);
    // Through the tunnel, not around it: the client agent dialled s1's IPv6 HBONE port with c1's identity...
    const out = await node1.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'outbound' && l['dst.hbone_addr'] === `[${s16}]:8080`);
    assert.equal(out['dst.addr'], `[${s16}]:15008`);
    assert.equal(out['src.identity'], 'spiffe://cluster.local/ns/default/sa/client');
    assert.equal(out['dst.identity'], 'spiffe://cluster.local/ns/default/sa/server');
    // ...and the server agent verified that identity on an IPv6 connection from c1.
    const inb = await node2.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'inbound' && l['dst.hbone_addr'] === `[${s16}]:8080`);
    assert.equal(inb['src.identity'], 'spiffe://cluster.local/ns/default/sa/client');
    assert.match(String(inb['src.addr']), new RegExp(`^\\[${c16}\\]:\\d+$`));
    assert.equal(inb['src.workload'], 'c1');
  });

  /** A client in `pod` holding one TCP connection to host:port open; `closed` resolves when it ends. */
  async function holdConnection(pod: string, host: string, port: number): Promise<{ closed: Promise<string> }> {
    const script = `const s = require('net').connect(${port}, '${host}', () => console.log('open'));
s.on('data', () => {}); s.on('error', (e) => console.log('error ' + e.code)); s.on('close', () => { console.log('closed'); process.exit(0); });`;
    const child = topo.spawn(pod, [process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitUntil(() => out.includes('open'));
    return { closed: once(child, 'exit').then(() => out) };
  }

  test('removing a pod from the config closes its listeners and connections and removes its redirect rules', async () => {
    // A live mesh connection of c2's, opened before the removal, must not survive it.
    const held = await holdConnection('c2', mesh.s2.ip, 9000);
    let closedYet = false;
    void held.closed.then(() => (closedYet = true));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(closedYet, false, 'the connection is up before the removal');
    const yaml = inpodMeshYaml(mesh).replace(/- uid: Kubernetes\/\/Pod\/default\/c2[\s\S]*?(?=- uid:)/, '');
    const v = node1.agent.source.version;
    writeConfig(join(configPath, '..'), yaml);
    await waitUntil(() => node1.agent.source.version > v);
    await waitUntil(() => !JSON.stringify(node1.agent.configDump().workloadState).includes('/c2'));
    const rules = await topo.exec('c2', ['iptables-save', '-t', 'nat']);
    assert.equal(rules.stdout.includes('ISTIO_OUTPUT'), false, rules.stdout);
    const listening = await topo.exec('c2', ['ss', '-ltn']);
    assert.equal(/:15001\b/.test(listening.stdout), false, listening.stdout);
    const outcome = await Promise.race([held.closed, new Promise<string>((r) => setTimeout(() => r('still open after 10 s'), 10_000).unref())]);
    assert.match(outcome, /closed/);
    // Added back while the agent runs: captured again, with no restart.
    await reconfigure('');
    await waitUntil(() => {
      const pods = node1.agent.configDump().workloadState as Array<{ uid: string; state: string }>;
      return pods.some((p) => p.uid.endsWith('/c2') && p.state === 'running');
    });
    const again = await curl('c2', `http://${mesh.s1.ip}:8080/re-added`);
    assert.equal(again.code, 0, again.body);
    assert.equal(again.body, `hello from s1; client=${mesh.c2.ip}; path=/re-added\n`);
    await node2.logs.waitFor((l) => l.msg === 'connection complete' && l['src.identity'] === 'spiffe://cluster.local/ns/default/sa/other' && l['dst.hbone_addr'] === `${mesh.s1.ip}:8080`);
  });

  return {
    get topo() {
      return topo;
    },
    get mesh() {
      return mesh;
    },
    get node1() {
      return node1;
    },
    get node2() {
      return node2;
    },
  };
}
