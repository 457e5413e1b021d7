// Builds the native socket addon (build/Release/ambit_sockets.node) with node-gyp when it is missing
// or older than its sources. Run by `npm install`/`npm ci` (install script) and by `npm run build`.
// Never fails: without python3, make or a C compiler the agent still runs (SOCKS5 only), so this
// prints one line saying why the addon is absent and exits 0. AMBIT_NATIVE_STRICT=1 makes it fail.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const addon = join(root, 'build', 'Release', 'ambit_sockets.node');
const sources = ['ambit_sockets.c', 'ambit_sockets.h', 'socket_ops.c', 'socket_batch.c', 'netns_thread.c', 'napi_helpers.c', 'seqpacket.c', 'heap_trim.c']
  .map((f) => join(root, 'native', f))
  .concat(join(root, 'binding.gyp'));
const strict = process.env.AMBIT_NATIVE_STRICT === '1';
const prefix = 'ambit: native socket addon';

function giveUp(why) {
  console.error(`${prefix} not built: ${why}; transparent capture is unavailable (SOCKS5 still works)`);
  process.exit(strict ? 1 : 0);
}

function upToDate() {
  if (!existsSync(addon)) return false;
  const built = statSync(addon).mtimeMs;
  return sources.every((s) => !existsSync(s) || statSync(s).mtimeMs <= built);
}

function onPath(tool) {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** npm's own node-gyp: set by npm for scripts, else next to this node's npm; else one on PATH. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const nodePrefix = dirname(dirname(process.execPath));
  for (const lib of ['lib/node_modules', 'lib64/node_modules']) {
    const p = join(nodePrefix, lib, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(p)) return [process.execPath, p];
  }
  return onPath('node-gyp') ? ['node-gyp'] : undefined;
}

if (upToDate()) process.exit(0);
if (process.platform !== 'linux') giveUp(`it needs Linux (platform is ${process.platform})`);
for (const tool of ['python3', 'make']) if (!onPath(tool)) giveUp(`${tool} not found (install python3, make and a C compiler, then npm rebuild)`);
if (!onPath('cc') && !onPath('gcc') && !onPath('clang')) giveUp('no C compiler (cc, gcc or clang) found (install one, then npm rebuild)');
const gyp = nodeGyp();
if (!gyp) giveUp('node-gyp not found (it ships with npm; run npm rebuild)');

// Headers: npm passes its nodedir config as npm_config_nodedir; run standalone, prefer the headers
// installed next to this node (offline) over a download.
const args = ['rebuild'];
const localHeaders = join(dirname(dirname(process.execPath)), 'include', 'node', 'node_api.h');
if (!process.env.npm_config_nodedir && existsSync(localHeaders)) args.push(`--nodedir=${dirname(dirname(dirname(localHeaders)))}`);

const res = spawnSync(gyp[0], [...gyp.slice(1), ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
const log = join(root, 'build', 'native-build.log');
try {
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, `${res.stdout ?? ''}${res.stderr ?? ''}`);
} catch {
  // the log is a convenience only
}
if (res.error || res.status !== 0 || !existsSync(addon)) {
  const lines = `${res.stderr ?? ''}`.split('\n').filter((l) => /error/i.test(l) && !/gyp ERR! (cwd|node -v|node-gyp -v|System|command|not ok)/.test(l));
  const first = res.error ? res.error.message : (lines[0] ?? `node-gyp exited with ${res.status}`).trim();
  giveUp(`node-gyp rebuild failed: ${first} (full log: ${log})`);
}
console.error(`${prefix} built: ${addon}`);
