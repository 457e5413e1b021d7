// The demo's "metrics that moved" and the shared exposition reader: parsing, deltas per series,
// label picking, and metricSum's exact label matching.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { movedSeries, pickLabels } from '../demo/metrics-diff.js';
import { metricSum, parseExposition } from '../helpers/prometheus-text.js';

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

test('metricSum: sums the samples of one metric whose labels match exactly', () => {
  const body = `${AFTER}istio_tcp_connections_opened_total_extra{reporter="source"} 100
istio_tcp_connections_opened_total{xreporter="source",source_workload="c1"} 1000
istio_tcp_connections_opened_total{reporter="source",source_workload="c1\\"x"} 7
`;
  const cases: Array<[string, Record<string, string>, number]> = [
    ['istio_tcp_connections_opened_total', {}, 1010],
    ['istio_tcp_connections_opened_total', { reporter: 'source' }, 10], // not xreporter=, not _extra
    ['istio_tcp_connections_opened_total', { source_workload: 'c2' }, 2],
    ['istio_tcp_connections_opened_total', { source_workload: 'c1\\"x' }, 7], // as exposed, escapes kept
    ['istio_tcp_connections_opened_total', { reporter: 'destination' }, 0],
    ['process_cpu_seconds_total', {}, 4],
    ['no_such_metric', {}, 0],
  ];
  for (const [name, labels, want] of cases) assert.equal(metricSum(body, name, labels), want, `${name} ${JSON.stringify(labels)}`);
});
