// The Dockerfile, checked without a Docker daemon: the build stage copies only what the build
// context holds, the runtime stage's entry point is the `ambit` command with the agent's Node flags,
// and the runtime stage's files, laid out as its COPY lines put them, run all three commands.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { AGENT_NODE_FLAGS } from '../../src/bin/node-flags.js';
import { REPO_ROOT } from '../helpers/deploy-manifests.js';

interface Instruction {
  readonly op: string;
  readonly args: string;
}

interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly steps: Instruction[];
}

/** The Dockerfile's stages and instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op!.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ from: m[1]!, name: m[2], steps: [] });
    } else {
      assert.ok(stages.length > 0, `${line}: before any FROM`);
      stages[stages.length - 1]!.steps.push({ op: op!.toUpperCase(), args });
    }
  }
  return stages;
}

interface Copy {
  readonly from: string | undefined;
  readonly sources: string[];
  /** Absolute, inside the stage (WORKDIR applied). */
  readonly dest: string;
}

function copiesOf(stage: Stage): Copy[] {
  let workdir = '/';
  const out: Copy[] = [];
  for (const s of stage.steps) {
    if (s.op === 'WORKDIR') workdir = posix.resolve(workdir, s.args);
    if (s.op !== 'COPY') continue;
    const words = s.args.split(/\s+/);
    const from = words[0]!.startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
    const dest = words.pop()!;
    out.push({ from, sources: words, dest: posix.resolve(workdir, dest) });
  }
  return out;
}

const DOCKERFILE = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(DOCKERFILE);
const build = stages[0]!;
const runtime = stages[stages.length - 1]!;
const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

function ignored(path: string): boolean {
  return dockerignore.some((p) => (p.startsWith('*') ? path.endsWith(p.slice(1)) : path === p || path.startsWith(`${p}/`)));
}

test('two stages: node 20 on Debian bookworm to build, its slim variant to run', () => {
  assert.equal(stages.length, 2);
  assert.equal(build.from, 'node:20-bookworm');
  assert.equal(runtime.from, 'node:20-bookworm-slim');
  const engines = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  assert.equal(engines, '>=20', 'the image’s Node major satisfies package.json engines');
});

test('build stage: copies only what the context holds, builds the native addon strictly, then compiles', () => {
  for (const c of copiesOf(build)) {
    assert.equal(c.from, undefined);
    for (const src of c.sources) {
      assert.ok(existsSync(join(REPO_ROOT, src)), `${src} is in the build context`);
      assert.ok(!ignored(src), `${src} is not excluded by .dockerignore`);
    }
  }
  for (const local of ['node_modules', 'dist', 'build', '.git']) assert.ok(ignored(local), `.dockerignore keeps the local ${local} out of the context`);
  const ops = build.steps.map((s) => `${s.op} ${s.args}`);
  const strict = ops.indexOf('ENV AMBIT_NATIVE_STRICT=1');
  const npmCi = ops.findIndex((o) => o.startsWith('RUN npm ci'));
  assert.ok(strict >= 0 && strict < npmCi, 'a failed addon build fails the image (AMBIT_NATIVE_STRICT=1 before npm ci)');
  const copiedBeforeCi = copiesOf({ ...build, steps: build.steps.slice(0, npmCi) }).flatMap((c) => c.sources);
  for (const needed of ['package.json', 'package-lock.json', 'binding.gyp', 'native']) assert.ok(copiedBeforeCi.includes(needed), `${needed} is there for npm ci (the addon's install script)`);
  assert.ok(ops.some((o) => o.startsWith('RUN npx tsc -p tsconfig.json') && o.includes('npm prune --omit=dev')), 'compiled, then dev dependencies dropped');
});

test('runtime stage: `ambit` with the agent’s Node flags as entry point, help by default, a non-root user, iptables and iproute2', () => {
  const entry = runtime.steps.filter((s) => s.op === 'ENTRYPOINT');
  assert.equal(entry.length, 1);
  assert.deepEqual(JSON.parse(entry[0]!.args), ['node', ...AGENT_NODE_FLAGS, '/app/dist/src/bin/ambit.js']);
  assert.deepEqual(JSON.parse(runtime.steps.find((s) => s.op === 'CMD')!.args), ['help']);
  const user = runtime.steps.filter((s) => s.op === 'USER').pop()?.args ?? '0';
  assert.notEqual(user.split(':')[0], '0', 'non-root unless a pod says otherwise (the node agent’s DaemonSet does)');
  const installs = runtime.steps.filter((s) => s.op === 'RUN' && s.args.includes('apt-get install')).map((s) => s.args).join(' ');
  // What the agent executes with its own redirect rules (src/inpod/redirect-rules.ts, netns-command.ts):
  // iptables(-save|-restore), ip6tables(-save|-restore), ip; nsenter is util-linux's, essential in Debian.
  for (const pkg of ['iptables', 'iproute2']) assert.match(installs, new RegExp(`\\b${pkg}\\b`), `${pkg} installed`);
});

let layout: string | undefined;
after(() => {
  if (layout) rmSync(layout, { recursive: true, force: true });
});

/**
 * The runtime stage's /app, built from this checkout's own build as its COPY lines lay it out:
 * `--from=build /src/X` is this repository's X (npm ci and tsc made them here too), other sources
 * come from the context. node_modules is linked, not copied (its modules are found either way);
 * everything else is a real copy, so a file the image lacks is missing here too.
 */
function runtimeLayout(): string {
  const root = mkdtempSync(join(tmpdir(), 'ambit-image-'));
  for (const c of copiesOf(runtime)) {
    assert.ok(c.dest.startsWith('/app/') || c.dest === '/app', `${c.dest}: under WORKDIR /app`);
    for (const src of c.sources) {
      const from = c.from === undefined ? join(REPO_ROOT, src) : join(REPO_ROOT, posix.relative('/src', src));
      assert.equal(c.from === undefined || c.from === build.name, true, `COPY --from=${c.from}: the build stage`);
      assert.ok(existsSync(from), `${src}: present in this build (run npm run build)`);
      const to = join(root, posix.relative('/app', c.dest));
      mkdirSync(dirname(to), { recursive: true });
      if (src.endsWith('node_modules')) symlinkSync(from, to, 'dir');
      else cpSync(from, to, { recursive: true });
    }
  }
  return root;
}

/** A process started from the layout with the image's entry point; its stdout and stderr together. */
class ImageProcess {
  out = '';
  readonly exited: Promise<number | null>;
  private readonly child;

  constructor(root: string, args: string[], env: Record<string, string> = {}) {
    const entry = JSON.parse(runtime.steps.find((s) => s.op === 'ENTRYPOINT')!.args) as string[];
    const argv = entry.slice(1).map((a) => (a.startsWith('/app/') ? join(root, a.slice('/app/'.length)) : a));
    this.child = spawn(process.execPath, [...argv, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d: Buffer): void => void (this.out += d.toString());
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** The first JSON log line whose msg is `msg` (waits up to 30 s). */
  async logged(msg: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      for (const line of this.out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const o = JSON.parse(line) as Record<string, unknown>;
        if (o['msg'] === msg) return o;
      }
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`no "${msg}" logged:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}

test('the runtime stage’s files run every command: help, and the control plane serving a node agent that loads its native addon', async (t) => {
  layout = runtimeLayout();
  for (const needed of ['package.json', 'proto/istio', 'build/Release/ambit_sockets.node', 'dist/src/bin/ambit.js']) {
    assert.ok(existsSync(join(layout, needed)), `the image holds ${needed}`);
  }
  const help = new ImageProcess(layout, ['help']);
  assert.equal(await help.exited, 0, help.out);
  assert.match(help.out, /Usage: ambit <command>/);

  const loopback = { AMBIT_BIND_ADDRESS: '127.0.0.1', AMBIT_STATE_DIR: join(layout, 'state') };
  const control = new ImageProcess(layout, ['control', '--manifests', join(REPO_ROOT, 'examples/mesh')], {
    ...loopback,
    AMBIT_PORT_XDS: '0',
    AMBIT_PORT_XDS_TLS: '0',
    AMBIT_PORT_MONITORING: '0',
  });
  t.after(() => control.stop());
  const started = await control.logged('ambit control started');
  const xds = (started['ports'] as { plaintext: number }).plaintext;
  // The agent is started (and logs so) only once both xDS types are received and ACKed: the wire
  // schemas under proto/ are loaded by both processes.
  const agent = new ImageProcess(layout, ['node'], {
    ...loopback,
    NODE_NAME: 'node-without-pods',
    XDS_ADDRESS: `http://127.0.0.1:${xds}`,
    AMBIT_ADMIN_BIND_ADDRESS: '127.0.0.1',
    ...Object.fromEntries(['HBONE', 'INBOUND', 'OUTBOUND', 'SOCKS5', 'ADMIN', 'STATS', 'READINESS'].map((p) => [`AMBIT_PORT_${p}`, '0'])),
  });
  t.after(() => agent.stop());
  await agent.logged('ambit node agent started');
  assert.doesNotMatch(agent.out, /transparent capture is off/, 'the native addon the image ships loads');
  assert.equal(await agent.stop(), 0, agent.out);
  assert.equal(await control.stop(), 0, control.out);
  // The image's Node is the one running here only by major; its addon is Node-API (ABI-stable).
  assert.equal(spawnSync(process.execPath, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout.trim(), '20');
});
