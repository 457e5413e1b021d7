// The waypoint demo's split check (withinShare): correct weighted splits pass at the demo's request
// counts, wrong ones (a weight ignored, 90/10 served as 50/50, nothing routed) fail; and the
// narration's line diff prints removals before additions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withinShare } from '../demo/demo-checks.js';
import { lineDiff } from '../demo/narration.js';

const cases: Array<[string, number, number, number, boolean]> = [
  ['90/10 over 100, exactly', 10, 100, 0.1, true],
  ['90/10 over 100, a high draw', 22, 100, 0.1, true],
  ['90/10 served as 50/50', 50, 100, 0.1, false],
  ['the canary never picked', 0, 100, 0.1, false],
  ['everything to the canary', 100, 100, 0.1, false],
  ['50/50 over 40', 17, 40, 0.5, true],
  ['50/50 over 40, all one way', 40, 40, 0.5, false],
  ['0 %: none allowed', 0, 100, 0, true],
  ['0 %: one is too many', 1, 100, 0, false],
  ['100 %: all', 200, 200, 1, true],
  ['100 %: one short', 199, 200, 1, false],
];

for (const [name, count, n, share, want] of cases) {
  test(`withinShare: ${name}`, () => assert.equal(withinShare(count, n, share), want));
}

test('withinShare: a fair 90/10 split of 100 passes nearly always (exact binomial tail below 1e-4)', () => {
  // P(X = k) for X ~ Binomial(100, 0.1), summed over the counts the check refuses.
  let refused = 0;
  let p = 0.9 ** 100;
  for (let k = 0; k <= 100; k++) {
    if (!withinShare(k, 100, 0.1)) refused += p;
    p = (p * (100 - k) * 0.1) / ((k + 1) * 0.9);
  }
  assert.ok(refused < 1e-4, `refused ${refused}`);
});

test('lineDiff: a changed line is shown as its removal, then its addition, with context', () => {
  assert.deepEqual(lineDiff('a\nweight: 90\nb\n', 'a\nweight: 50\nb\n'), ['  a', '- weight: 90', '+ weight: 50', '  b']);
  assert.deepEqual(lineDiff('1\n2\n3\n4\n5\n6\n', '1\n2\n3\n4\n5\nsix\n', 1), ['  …', '  5', '- 6', '+ six']);
});
