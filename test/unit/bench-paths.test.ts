// The bench's path list and its options: every path states its log level and how a new connection
// crosses it; nginx and the waypoint are HTTP-only in pods of their own; --ambit-workers makes one
// ambit-w<N> path per count.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchPaths, podsOf } from '../../bench/paths/index.js';
import { AmbitL4Path } from '../../bench/paths/ambit.js';
import { WaypointPath } from '../../bench/paths/waypoint.js';
import { agentCommand, AGENT_LOG_LEVEL } from '../../bench/paths/agent-process.js';
import { helpListsFlag, workersSupportError } from '../../bench/paths/agent-workers.js';
import { DEFAULT_OUT_DIR, parseBenchArgs, parseSuites, parseWorkerCounts, SCRATCH_OUT_DIR } from '../../bench/options.js';
import { isMeshError } from '../../src/common/errors.js';
import { checkL7Targets } from '../../bench/l7-targets.js';
import { rpsRatioColumns } from '../../bench/report-text.js';

test('paths: table order, own pods each (nginx and the waypoint with a proxy pod), log level and connection handling stated', () => {
  const paths = benchPaths();
  assert.deepEqual(paths.map((p) => p.name), ['direct', 'ambit', 'stunnel', 'node-relay', 'nginx', 'waypoint']);
  // Two pods per path, three for nginx and the waypoint (client, proxy, server), none shared.
  assert.equal(podsOf(paths).length, 2 * paths.length + 2);
  for (const p of paths) {
    assert.ok(p.logLevel.length > 0 && p.connections.length > 0, p.name);
  }
  const by = Object.fromEntries(paths.map((p) => [p.name, p]));
  assert.deepEqual(paths.filter((p) => !p.tcp).map((p) => p.name), ['nginx', 'waypoint'], 'the L7 paths are HTTP-only');
  assert.equal(by.nginx!.pods.length, 3);
  assert.match(by.nginx!.logLevel, /access_log off, error_log warn/);
  assert.match(by.nginx!.description, /own pod/);
  assert.match(by.nginx!.connections, /keep-alive upstream/);
  assert.match(by.ambit!.logLevel, /--log-level warn/);
  assert.match(by.stunnel!.logLevel, /debug = warning/);
  assert.match(by.ambit!.connections, /pooled.*already TLS-handshaken/);
  assert.match(by.stunnel!.connections, /TLS 1\.3 handshake .*per connection/);
  // The waypoint: its own pod between client and server like nginx, every process at warn.
  assert.deepEqual(by.waypoint!.pods, ['wc', 'wp', 'ws']);
  assert.match(by.waypoint!.logLevel, /--log-level warn on both agents and the waypoint/);
  assert.match(by.waypoint!.description, /Service VIP.*→ waypoint pod .*→ agent node2 → server pod/);
  assert.match(by.waypoint!.connections, /pooled, already mTLS-handshaken HBONE session/);
});

test('paths: the waypoint path is the L7 subject, its agents on loopback addresses of their own', () => {
  const paths = benchPaths({ ambitWorkers: [1, 2, 4] });
  assert.equal(paths.at(-1)!.name, 'waypoint');
  const wp = paths.at(-1) as WaypointPath;
  const ambitBinds = paths.filter((p): p is AmbitL4Path => p instanceof AmbitL4Path).flatMap((p) => p.agentBinds('127.9.9'));
  const wpBinds = wp.agentBinds('127.9.9');
  assert.deepEqual(wpBinds.filter((b) => ambitBinds.includes(b)), [], 'no agent address shared with an Ambit L4 path');
  assert.equal(new Set(wpBinds).size, 2);
  assert.deepEqual(wp.proxies(), [], 'no processes before setup');
  // The report finds it by name: the L7 target check's subject, ratio columns against nginx and ambit.
  const names = benchPaths().map((p) => p.name);
  const targets = checkL7Targets([], names);
  assert.deepEqual([targets.subjects, targets.nginx, targets.l4], [['waypoint'], 'nginx', 'ambit']);
  assert.deepEqual(targets.checks.map((c) => [c.id, c.status]), [
    ['rps-vs-nginx', 'not measured'], ['added-p50', 'not measured'], ['added-p99', 'not measured'], ['vcpu-per-1k', 'not measured'], ['rss-per-1k', 'not measured'],
  ]);
  assert.deepEqual(rpsRatioColumns(names), { subjects: ['ambit', 'waypoint'], baselines: ['nginx', 'ambit'] });
});

test('paths: --ambit-workers 1,2 replaces ambit by ambit-w1 and ambit-w2, on their own pods and loopback addresses', () => {
  const paths = benchPaths({ ambitWorkers: [1, 2] });
  assert.deepEqual(paths.map((p) => p.name), ['direct', 'ambit-w1', 'ambit-w2', 'stunnel', 'node-relay', 'nginx', 'waypoint']);
  assert.equal(new Set(podsOf(paths)).size, 2 * paths.length + 2);
  const [w1, w2] = paths.filter((p): p is AmbitL4Path => p instanceof AmbitL4Path);
  const binds = [...w1!.agentBinds('127.9.9'), ...w2!.agentBinds('127.9.9')];
  assert.deepEqual(binds, ['127.9.9.1', '127.9.9.2', '127.9.9.3', '127.9.9.4']);
  assert.match(w2!.description, /--workers 2/);
});

test('agent command: --log-level warn always, --workers only when asked', () => {
  const spec = { nodeName: 'node1', bind: '127.0.0.5', configPath: '/m.yaml', stateDir: '/s' };
  const plain = agentCommand(spec);
  assert.equal(AGENT_LOG_LEVEL, 'warn');
  assert.equal(plain[plain.indexOf('--log-level') + 1], 'warn');
  assert.equal(plain.includes('--workers'), false);
  const two = agentCommand({ ...spec, workers: 2 });
  assert.equal(two[two.indexOf('--workers') + 1], '2');
  assert.equal(two[two.indexOf('node') + 1], '--node-name'); // flags follow the `node` subcommand
});

test('--ambit-workers: accepted only when the agent help lists --workers, with a clear reason', () => {
  const without = 'Usage: ambit node [flags]\n  --node-name   NODE_NAME   this node\n  --log-level   AMBIT_LOG_LEVEL   log level\n';
  const withFlag = `${without}  --workers                          AMBIT_WORKERS                       worker processes (default: 1)\n`;
  assert.equal(helpListsFlag(withFlag, '--workers'), true);
  assert.equal(helpListsFlag(without, '--workers'), false);
  // A longer flag or a mention inside a description is not the flag.
  assert.equal(helpListsFlag('  --workers-max  X  y\n  --foo  F  see --workers\n', '--workers'), false);
  assert.equal(workersSupportError(withFlag, [1, 2]), null);
  const err = workersSupportError(without, [1, 2]);
  assert.ok(err !== null && isMeshError(err, 'CONFIG_INVALID'));
  assert.match(err.message, /--ambit-workers 1,2: this agent does not accept --workers/);
});

test('options: --ambit-workers parses distinct positive counts; default is one ambit path', () => {
  assert.equal(parseBenchArgs([])!.ambitWorkers, null);
  assert.deepEqual(parseBenchArgs(['--quick', '--ambit-workers', '1, 2'])!.ambitWorkers, [1, 2]);
  assert.deepEqual(parseWorkerCounts('4'), [4]);
  for (const bad of ['', '0', '1,x', '1.5', '2,2', '-1', '1000']) {
    assert.throws(() => parseWorkerCounts(bad), (e: unknown) => isMeshError(e, 'CONFIG_INVALID'), bad);
  }
});

test('options: --suites picks suites in run order, --rps-* size the keep-alive run; partial runs write to the git-ignored tmp dir', () => {
  const all = parseBenchArgs([])!;
  assert.deepEqual(all.suites, ['throughput', 'latency', 'http-rps', 'connrate', 'idle']);
  assert.equal(all.outDir, DEFAULT_OUT_DIR);
  assert.deepEqual([all.rpsSeconds, all.rpsConnections, all.rpsWarmupS], [10, 16, 2]);
  const quick = parseBenchArgs(['--quick'])!;
  assert.deepEqual([quick.rpsSeconds, quick.rpsWarmupS], [1, 0]);
  assert.equal(quick.outDir, SCRATCH_OUT_DIR);
  assert.match(SCRATCH_OUT_DIR, /bench\/results\/tmp\/$/);
  const some = parseBenchArgs(['--suites', 'latency, http-rps', '--rps-seconds', '3', '--rps-connections', '32'])!;
  assert.deepEqual(some.suites, ['latency', 'http-rps']);
  assert.deepEqual([some.rpsSeconds, some.rpsConnections], [3, 32]);
  assert.equal(some.outDir, SCRATCH_OUT_DIR);
  assert.equal(parseBenchArgs(['--paths', 'nginx'])!.outDir, SCRATCH_OUT_DIR);
  assert.equal(parseBenchArgs(['--quick', '--out', '/x/y'])!.outDir, '/x/y');
  for (const bad of ['', 'rps', 'latency,latency', 'latency,,iperf']) {
    assert.throws(() => parseSuites(bad), (e: unknown) => isMeshError(e, 'CONFIG_INVALID'), bad);
  }
  for (const bad of [['--rps-seconds', '0'], ['--rps-seconds', '1.5'], ['--rps-connections', 'x']]) {
    assert.throws(() => parseBenchArgs(bad), (e: unknown) => isMeshError(e, 'CONFIG_INVALID'), bad.join(' '));
  }
});
