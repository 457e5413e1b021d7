// Test entry point (`npm test`): runs the compiled tiers with node's built-in test runner.
// Tiers: unit (pure logic), fuzz (bounded property-based, fast-check, fixed seed: FUZZ_SEED),
// integration (in-process, real sockets), netns (root, multi-node).
// Usage: node test/run.mjs [tier...]; no argument runs every tier.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const allTiers = ['unit', 'fuzz', 'integration', 'netns'];
const tiers = process.argv.slice(2).length ? process.argv.slice(2) : allTiers;

function collect(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = tiers.flatMap((t) => collect(join(root, t)));
if (files.length === 0) {
  console.error(`no test files found for tiers: ${tiers.join(', ')} (did the build run?)`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const res = spawnSync(process.execPath, ['--enable-source-maps', '--test', `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? '300000'}`, `--test-concurrency=${concurrency}`, ...files], {
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
