// The README's "Quick start", run as written: its commands are read from README.md and run in a
// network namespace of their own — the agent as `npm start` runs it, then the second terminal's lines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { parse } from 'yaml';
import { EMBEDDED_EXAMPLE_YAML } from '../../src/xds/embedded-example.js';
import { assertNoLeftovers, netnsPids, requireRoot } from '../helpers/netns-topology.js';
import { createLoopbackNetns, type LoopbackNetns } from '../helpers/netns-loopback.js';
import { aptInstallPackages, ciAptPackages, quickStartCommands, quickStartSection, type QuickStartCommand } from '../helpers/readme-quickstart.js';
import { startShellSession, type ShellSession } from '../helpers/shell-session.js';
import { metricSum } from '../helpers/prometheus-text.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** The log line the README tells the user to wait for before the second terminal. */
const STARTED = 'ambit node agent started';
const MESH_CURLS = 10;

type Role = 'install' | 'agent' | 'suite' | 'server' | 'mesh-curl' | 'metrics' | 'config-dump' | 'stop-servers';

/** What each quick-start line is, by what it says; a line the test does not know fails the test. */
function roleOf(c: QuickStartCommand): Role {
  const s = c.command;
  if (/\bapt-get\b.*\binstall\b/.test(s)) return 'install';
  if (/\bnpm start\b/.test(s)) return 'agent';
  if (/^(sudo )?npm test$/.test(s)) return 'suite';
  if (/&$/.test(s)) return 'server';
  if (/^curl\b.*--socks5/.test(s)) return 'mesh-curl';
  if (/^curl\b.*\/metrics\b/.test(s)) return 'metrics';
  if (/^curl\b.*\/config_dump\b/.test(s)) return 'config-dump';
  if (/^kill\b/.test(s)) return 'stop-servers';
  throw new Error(`the quick start has a command this test does not know how to check: \`${c.line}\` (teach test/netns/quickstart.test.ts)`);
}

/** Endpoints of example.com in the built-in example: where the quick start's servers must listen. */
function exampleEndpoints(): Array<{ workload: string; ip: string; port: number }> {
  const doc = parse(EMBEDDED_EXAMPLE_YAML) as { workloads: Array<{ namespace: string; name: string; workloadIps: string[]; services?: Record<string, Record<string, number>> }> };
  return doc.workloads.flatMap((w) => {
    const ports = w.services?.['default/example.com'];
    return ports ? Object.values(ports).map((port) => ({ workload: `${w.namespace}/${w.name}`, ip: w.workloadIps[0]!, port })) : [];
  });
}

/** `npm start` minus its build step (the test runs on the built tree): the agent's argv. */
function agentArgv(): string[] {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const m = /^npm run build && ([\w./=-]+(?: [\w./=-]+)*)$/.exec(start);
  assert.ok(m, `package.json's start script is no longer "npm run build && <plain command>": ${start}`);
  return m[1]!.split(' ');
}

/** HTTP status of GET http://ip:port/ from inside the namespace, with no proxy ('000' when refused). */
async function directStatus(ns: LoopbackNetns, ip: string, port: number): Promise<string> {
  const r = await ns.exec(['curl', '-sS', '--noproxy', '*', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', `http://${ip}:${port}/`], { timeoutMs: 5000 });
  return r.stdout.trim() || '000';
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The environment a fresh terminal would have: no proxy settings that could send curl elsewhere. */
function terminalEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/_proxy$/i.test(k)) env[k] = v;
  // `node` as npm start finds it: the node running this test first on PATH.
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  return env;
}

interface AgentRun {
  readonly child: ChildProcess;
  readonly log: string[];
  started: Promise<void>;
}

function startAgent(ns: LoopbackNetns, cwd: string): AgentRun {
  const child = ns.spawn(agentArgv(), { cwd, env: terminalEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the agent did not log "${STARTED}" within 20 s:\n${log.join('\n')}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`the agent exited (${code}) before logging "${STARTED}":\n${log.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.push(line);
      if (line.includes(`"msg":"${STARTED}"`)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  started.catch(() => undefined);
  return { child, log, started };
}

/** Ctrl-C in the agent's terminal: SIGINT to its process group; resolves with its exit status (10 s at most). */
async function ctrlC(agent: AgentRun): Promise<number | null> {
  const exited = once(agent.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  process.kill(-agent.child.pid!, 'SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the agent did not stop within 10 s of Ctrl-C')), 10_000)));
  const [code] = await Promise.race([exited, stuck]).finally(() => clearTimeout(timer));
  return code;
}

test('the quick start installs exactly the Debian packages CI installs, in one apt-get line', () => {
  const installs = quickStartCommands(README).filter((c) => roleOf(c) === 'install');
  assert.equal(installs.length, 1, 'one apt-get install line');
  const ci = ciAptPackages(readFileSync(join(ROOT, '.ci/run'), 'utf8'));
  assert.deepEqual(aptInstallPackages(installs[0]!.command), ci, 'README and .ci/run list the same packages, in the same order');
  for (const needed of ['python3', 'curl', 'make', 'g++']) assert.ok(ci.includes(needed), `${needed}: used by the quick start or the native addon build`);
});

test(`the quick start as written: agent as npm start runs it, servers on every endpoint, ${MESH_CURLS}/${MESH_CURLS} curls through the mesh, metrics, config_dump, stop`, async (t) => {
  requireRoot('the quick start test');
  const commands = quickStartCommands(README).map((c) => ({ ...c, role: roleOf(c) }));
  const agentLines = commands.filter((c) => c.role === 'agent');
  assert.deepEqual(agentLines.map((c) => c.command), ['npm ci && npm start'], 'the first terminal runs `npm ci && npm start` (the test runs on the built tree)');
  const agentAt = commands.indexOf(agentLines[0]!);
  const second = commands.filter((c) => c.role !== 'install' && c.role !== 'agent' && c.role !== 'suite');
  assert.ok(commands.indexOf(second[0]!) > agentAt, 'the agent is started before the second terminal');
  for (const role of ['mesh-curl', 'metrics', 'config-dump', 'stop-servers'] as const) {
    assert.equal(second.filter((c) => c.role === role).length, 1, `one ${role} command in the quick start`);
  }
  assert.ok(quickStartSection(README).includes(`\`${STARTED}\``), `the README says to wait for "${STARTED}"`);
  const endpoints = exampleEndpoints();
  assert.equal(endpoints.length, 2, 'example.com has its HBONE and its TCP endpoint');

  const ns = await createLoopbackNetns('quickstart');
  // The agent's cwd: `dist` links to the built tree, so `./var/lib/ambit` state lands here, not in the repo.
  const agentDir = mkdtempSync(join(tmpdir(), 'ambit-quickstart-'));
  let agent: AgentRun | undefined;
  let session: ShellSession | undefined;
  const t0 = Date.now();
  try {
    symlinkSync(join(ROOT, 'dist'), join(agentDir, 'dist'));
    agent = startAgent(ns, agentDir);
    await agent.started;
    // The second terminal, at the repository's root, as the README says.
    const shell = startShellSession((argv) => ns.spawn(argv, { cwd: ROOT, env: terminalEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    session = shell;
    let serversUp = false;
    for (const c of second) {
      if (c.role !== 'server' && !serversUp && second.some((s) => s.role === 'server')) {
        // Before the next line, as a user would, wait until the servers answer (directly, not through the mesh).
        for (const e of endpoints) {
          await waitFor(`a server on ${e.ip}:${e.port} (endpoint ${e.workload}) after the quick start's server lines`, 10_000, async () => (await directStatus(ns, e.ip, e.port)) === '200');
        }
        serversUp = true;
      }
      if (c.role === 'suite') continue;
      if (c.role === 'mesh-curl') {
        const failures: string[] = [];
        for (let i = 0; i < MESH_CURLS; i++) {
          const r = await shell.run(c.line);
          const ok = r.code === 0 && r.stdout.includes('Directory listing for /') && r.stdout.includes('README.md');
          if (!ok) failures.push(`#${i + 1}: exit ${r.code}, stdout ${JSON.stringify(r.stdout.slice(0, 200))}, stderr ${JSON.stringify(r.stderr.slice(0, 300))}`);
        }
        assert.deepEqual(failures, [], `\`${c.line}\`: ${MESH_CURLS - failures.length}/${MESH_CURLS} served the repository's listing\n${agent.log.slice(-10).join('\n')}`);
        continue;
      }
      if (c.role === 'stop-servers') {
        // Before stopping them: each endpoint, not only random picks, through the agent to the workload address.
        const proxy = /--socks5(?:-hostname)?\s+(\S+)/.exec(second.find((s) => s.role === 'mesh-curl')!.command)![1]!;
        for (const e of endpoints) {
          const via = await ns.exec(['curl', '-sS', '--max-time', '5', '--socks5', proxy, `http://${e.ip}:${e.port}/`], { cwd: ROOT });
          assert.equal(via.code, 0, `through the mesh to ${e.workload} (${e.ip}:${e.port}): ${via.stderr}`);
          assert.match(via.stdout, /Directory listing for \//);
        }
      }
      const r = await shell.run(c.line);
      assert.equal(r.code, 0, `\`${c.line}\` exit status; stdout: ${r.stdout}; stderr: ${r.stderr}`);
      if (c.role === 'metrics') {
        const lines = r.stdout.trim().split('\n');
        assert.ok(lines.every((l) => l.startsWith('istio_tcp_connections_opened_total{')), r.stdout);
        assert.equal(metricSum(r.stdout, 'istio_tcp_connections_opened_total', { reporter: 'source' }), MESH_CURLS, 'one outbound connection per curl');
      } else if (c.role === 'config-dump') {
        assert.equal(r.stdout.split('\n')[0], '{', 'config_dump is JSON');
        assert.match(r.stdout, /"workloads"/);
      } else if (c.role === 'stop-servers') {
        for (const e of endpoints) await waitFor(`${e.ip}:${e.port} to stop answering after \`${c.line}\``, 5000, async () => (await directStatus(ns, e.ip, e.port)) === '000');
      }
    }
    const code = await ctrlC(agent);
    assert.equal(code, 0, `agent exit status after Ctrl-C:\n${agent.log.slice(-5).join('\n')}`);
    assert.ok(agent.log.some((l) => l.includes('"why":"SIGINT"') && l.includes('shutting down')), 'the agent logged its shutdown on SIGINT');
    await shell.close();
    assert.deepEqual(netnsPids(ns.name), [], 'after the stop commands and Ctrl-C nothing runs in the namespace');
    assert.ok(existsSync(join(agentDir, 'var/lib/ambit/root-cert.pem')), 'the built-in CA root is under ./var/lib/ambit of the agent cwd');
    assert.match(readFileSync(join(ROOT, '.gitignore'), 'utf8'), /^\/var\/$/m, 'npm start from the repository root leaves its ./var state where git ignores it');
    t.diagnostic(`quick start: ${MESH_CURLS}/${MESH_CURLS} mesh curls, ${((Date.now() - t0) / 1000).toFixed(1)} s from agent start to stop`);
  } finally {
    await session?.close();
    await ns.destroy();
    rmSync(agentDir, { recursive: true, force: true });
  }
  await assertNoLeftovers(ns.id);
});
