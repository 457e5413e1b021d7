// The README's configuration tables document every setting of `ambit node`, `ambit control` and `ambit waypoint`,
// with the flag, the environment variable(s) and the default that --help prints (no drift).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONTROL_SETTINGS, SETTINGS, WAYPOINT_SETTINGS, type SettingSpec } from '../../src/config/index.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The table rows of the README section whose heading starts with `heading`. */
function rowsOf(heading: string): string[] {
  const start = README.indexOf(`\n## ${heading}`);
  assert.ok(start >= 0, `README has no section "${heading}"`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end).split('\n').filter((l) => l.startsWith('| `--'));
}

function check(table: readonly SettingSpec[], what: string, rows: readonly string[]): void {
  for (const spec of table) {
    const row = rows.find((r) => r.startsWith(`| \`--${spec.flag}\` |`) && spec.env.every((e) => r.includes(`\`${e}\``)));
    assert.ok(row, `${what}: README has no row for --${spec.flag} (${spec.env.join(', ')})`);
    const cells = row.split(' | ');
    assert.equal(cells[2], spec.defaultText.replace(/\|/g, '\\|'), `${what}: README default of --${spec.flag}`);
  }
}

test('every ambit node setting has its README row with the --help default', () => check(SETTINGS, 'ambit node', rowsOf('Configuration reference (`ambit node`)')));
test('every ambit control setting has its README row with the --help default', () => check(CONTROL_SETTINGS, 'ambit control', rowsOf('The control plane (`ambit control`)')));
test('every ambit waypoint setting has its README row with the --help default', () => check(WAYPOINT_SETTINGS, 'ambit waypoint', rowsOf('Waypoint (`ambit waypoint`)')));
