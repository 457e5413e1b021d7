// The demo's "metrics that moved": exposition parsing, deltas per series, and label picking.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { movedSeries, parseExposition, pickLabels } from '../demo/metrics-diff.js';

const BEFORE = `# HELP istio_tcp_sent_bytes_total Bytes sent
# TYPE istio_tcp_sent_bytes_total counter
istio_tcp_sent_bytes_total{reporter="source",source_workload="c1"} 10
istio_tcp_connections_opened_total{reporter="source",source_workload="c1"} 1
process_cpu_seconds_total 3.5
`;
const AFTER = `istio_tcp_sent_bytes_total{reporter="source",source_workload="c1"} 25
istio_tcp_connections_opened_total{reporter="source",source_workload="c1"} 1
istio_tcp_connections_opened_total{reporter="source",source_workload="c2"} 2
process_cpu_seconds_total 4
`;

test('parseExposition: series to value; comments, blanks and malformed lines skipped', () => {
  const m = parseExposition(`${BEFORE}\nnot-a-number x\n`);
  assert.equal(m.get('istio_tcp_sent_bytes_total{reporter="source",source_workload="c1"}'), 10);
  assert.equal(m.get('process_cpu_seconds_total'), 3.5);
  assert.equal(m.size, 3);
});

test('movedSeries: changed and new series with their deltas, unchanged and other prefixes left out', () => {
  const moved = movedSeries(BEFORE, AFTER, ['istio_tcp_']);
  assert.deepEqual(
    moved.map((m) => [m.name, m.labels, m.before, m.after, m.delta]),
    [
      ['istio_tcp_connections_opened_total', 'reporter="source",source_workload="c2"', 0, 2, 2],
      ['istio_tcp_sent_bytes_total', 'reporter="source",source_workload="c1"', 10, 25, 15],
    ],
  );
  assert.equal(movedSeries(BEFORE, AFTER, ['process_'])[0]!.delta, 0.5);
});

for (const [labels, keep, want] of [
  ['a="1",b="2",c="3"', ['c', 'a'], 'c=3 a=1'],
  ['a="x,y",b="q\\"r"', ['a', 'b'], 'a=x,y b=q\\"r'],
  ['a="1"', ['z'], ''],
] as const) {
  test(`pickLabels(${labels}, ${keep.join(',')})`, () => assert.equal(pickLabels(labels, keep), want));
}
