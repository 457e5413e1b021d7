// Smoke test of the benchmark harness: `node dist/bench/run.js --quick` builds the pod topology, runs
// every measurement once on every path (iperf3 n/a on nginx and the waypoint), checks the L7 targets
// on the waypoint path, writes JSON + SVG, leaves nothing behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import type { BenchResultFile, Measurement } from '../../bench/lib/index.js';
import type { L7TargetReport } from '../../bench/l7-targets.js';

/** The paths that carry HTTP only (no iperf3 figure, a visible reason instead). */
const HTTP_ONLY = ['nginx', 'waypoint'];

const RUN = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // SIGINT first: the harness then tears down like on Ctrl-C; the test fails on the exit code anyway.
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface RawRun {
  readonly path: string;
  readonly step: string;
  readonly error?: string;
  readonly outcome?: { kind: string; result: { proxies?: Array<{ label: string; cpuSeconds: number; peakRssBytes: number }> } };
}

interface Raw {
  readonly setup: { topologyId: string; workDir: string; processes: Array<{ label: string; pid: number }> };
  readonly runs: RawRun[];
}

function value(ms: readonly Measurement[], id: string, path: string): number {
  const m = ms.find((x) => x.id === id);
  assert.ok(m, `measurement ${id} is reported`);
  const v = m.values[path];
  assert.equal(typeof v, 'number', `${id} has a figure for ${path}`);
  return v as number;
}

/** The command line of a live pid, or null when it no longer exists. */
function cmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

test('npm run bench -- --quick: every path measured, L7 targets checked on the waypoint, JSON and SVG written, nothing left behind', { timeout: 290_000 }, async () => {
  requireRoot('the bench smoke test');
  const out = mkdtempSync(join(tmpdir(), 'ambit-bench-quick-'));
  try {
    // About 80 s on a busy 2-core machine; SIGINT at 240 s leaves time to tear down within the file's 5 minutes.
    const res = await runBench(['--quick', '--out', out], 240_000);
    assert.equal(res.code, 0, `bench exited with ${res.code}\nstderr:\n${res.stderr.slice(-4000)}`);
    assert.match(res.stdout, /ambit\/direct/, 'the table shows ratios to direct');
    assert.match(res.stdout, /ambit\/node-relay/, 'and to the Node floor');
    assert.match(res.stdout, /ambit\/nginx/, 'the req/s section shows the ratio to nginx');
    assert.match(res.stdout, /waypoint\/nginx\s+waypoint\/ambit/, 'the req/s section shows the waypoint against nginx and Ambit L4');
    assert.doesNotMatch(res.stdout, /waypoint: not in this run/);
    assert.match(res.stdout, /^ {2}waypoint {2}keep-alive req\/s ≥ 0\.5× nginx +\d+\.\d+× {2}(met|missed) /m, 'the L7 target lines are evaluated');
    assert.match(res.stderr, /\[\d+\/\d+\] round 1\/1/, 'progress lines were shown');

    const result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResultFile;
    const raw = result.raw as Raw;
    assert.deepEqual(result.paths, ['direct', 'ambit', 'stunnel', 'node-relay', 'nginx', 'waypoint']);
    assert.ok(result.machine.cores > 0 && result.machine.kernel.length > 0 && result.machine.node.startsWith('v'));
    assert.ok(!Number.isNaN(Date.parse(result.date)));
    assert.deepEqual(raw.runs.filter((r) => r.error !== undefined), [], 'no run failed');

    const ms = result.measurements;
    for (const path of result.paths) {
      for (const mode of ['single', 'reverse', 'parallel4']) {
        // nginx and the waypoint are HTTP-only: no figure, and the row says why.
        if (HTTP_ONLY.includes(path)) assert.equal(ms.find((m) => m.id === `throughput.${mode}`)?.notApplicable?.[path], 'HTTP-only path');
        else assert.ok(value(ms, `throughput.${mode}`, path) > 0, `${path} ${mode} throughput`);
      }
      assert.ok(value(ms, 'rps.requestsPerSecond', path) > 0, `${path} keep-alive req/s`);
      const [p50, p90, p99] = ['p50', 'p90', 'p99'].map((q) => value(ms, `latency.1000.${q}`, path));
      assert.ok(p50! > 0 && p50! <= p90! && p90! <= p99!, `${path}: p50 ${p50} <= p90 ${p90} <= p99 ${p99}`);
      assert.ok(value(ms, 'connrate', path) > 0, `${path} conn/s`);
    }
    for (const path of ['ambit', 'stunnel', 'node-relay']) {
      for (const role of ['client-side', 'server-side']) {
        assert.ok(value(ms, `cpu.1000.${role}`, path) >= 0, `${path} ${role} CPU`);
        assert.ok(value(ms, `rss.1000.${role}`, path) > 0, `${path} ${role} peak RSS`);
      }
      assert.ok(Number.isFinite(value(ms, 'idle.kbPerConnection', path)), `${path} memory per idle connection`);
    }
    for (const path of HTTP_ONLY) {
      assert.ok(value(ms, 'cpu.1000.l7-proxy', path) >= 0 && value(ms, 'rss.1000.l7-proxy', path) > 0, `the ${path} L7 proxy was sampled`);
      assert.ok(value(ms, 'rps.cpu.l7-proxy', path) > 0 && value(ms, 'rps.rss.l7-proxy', path) > 0, `and normalised per 1k req/s (${path})`);
      assert.ok(Number.isFinite(value(ms, 'idle.kbPerConnection', path)), `${path} memory per idle connection`);
    }
    assert.match(res.stdout, /n\/a: HTTP-only path/, 'the table says why nginx and the waypoint have no iperf3 figure');
    // The waypoint path also runs both agents, sampled in their roles beside the waypoint.
    for (const role of ['client-side', 'server-side']) assert.ok(value(ms, `rss.1000.${role}`, 'waypoint') > 0, `waypoint path ${role} agent`);
    const wpRun = raw.runs.find((r) => r.path === 'waypoint' && r.step === 'latency.1000');
    const wpProxies = wpRun?.outcome?.result.proxies ?? [];
    assert.deepEqual(wpProxies.map((a) => a.label), ['agent node1', 'waypoint', 'agent node2']);
    for (const a of wpProxies) assert.ok(a.cpuSeconds > 0 && a.peakRssBytes > 10 * 1024 * 1024, JSON.stringify(a));
    // Every L7 target evaluated from this run's figures (met or missed: speed is not a pass/fail here).
    const targets = result.l7Targets as L7TargetReport;
    assert.deepEqual([targets.subjects, targets.nginx, targets.l4], [['waypoint'], 'nginx', 'ambit']);
    assert.deepEqual(targets.checks.map((c) => c.id), ['rps-vs-nginx', 'added-p50', 'added-p99', 'vcpu-per-1k', 'rss-per-1k']);
    for (const c of targets.checks) assert.ok(c.status === 'met' || c.status === 'missed', `${c.id}: ${c.status} (${c.detail})`);
    // The agents were sampled as processes of their own: CPU was used, and they are big Node processes.
    const agentRun = raw.runs.find((r) => r.path === 'ambit' && r.step === 'latency.1000');
    const agents = agentRun?.outcome?.result.proxies ?? [];
    assert.deepEqual(agents.map((a) => a.label), ['agent node1', 'agent node2']);
    for (const a of agents) assert.ok(a.cpuSeconds > 0 && a.peakRssBytes > 10 * 1024 * 1024, JSON.stringify(a));
    assert.equal(ms.find((m) => m.id === 'cpu.1000.total')?.values.direct, null, 'no proxy on the direct path');

    const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
    assert.match(svg, /^(<\?xml[^>]*\?>\s*)?<svg[\s>]/, 'the chart starts with <svg');
    assert.match(svg.trimEnd(), /<\/svg>$/, 'the chart ends with </svg>');
    for (const path of result.paths) assert.ok(svg.includes(`>${path}<`), `${path} is in the legend`);
    assert.ok(readdirSync(out).some((f) => /^bench-\d{4}-\d{2}-\d{2}T.*\.json$/.test(f)), 'a dated copy of the JSON');

    // Nothing of the run survives it: namespaces, links, rules, processes, its work directory.
    const id = raw.setup.topologyId;
    await assertNoLeftovers(id);
    const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.equal(netns.split('\n').filter((l) => l.startsWith(`ambit-${id}-`)).length, 0, netns);
    assert.ok(raw.setup.processes.length >= 12, 'apps, agents, the waypoint, stunnel and nginx processes were recorded');
    for (const p of raw.setup.processes) {
      const cmd = cmdline(p.pid);
      // A recycled pid is some other process: only ours (node/stunnel on our files) would count.
      assert.ok(cmd === null || !/stunnel|nginx|ambit\.js|http-server-cli|tcp-relay-cli/.test(cmd), `${p.label} (pid ${p.pid}) still runs: ${cmd}`);
    }
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      const cmd = cmdline(Number(pid));
      assert.ok(cmd === null || !cmd.includes(raw.setup.workDir), `pid ${pid} still uses the run's work dir: ${cmd}`);
    }
    assert.equal(existsSync(raw.setup.workDir), false, 'the work directory is removed');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
