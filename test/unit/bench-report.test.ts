// Pure pieces of the bench harness: percentiles, the hey and iperf3 parsers, the terminal table and
// its ratios, the SVG chart, progress lines with ETA, and the machine description.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  summarizeMicros,
  percentileOfSorted,
  parseHeyOutput,
  parseIperfJson,
  formatTable,
  formatValue,
  ratio,
  renderBarChartSvg,
  benchChartSpec,
  niceCeil,
  Progress,
  formatDuration,
  machineInfo,
  type Measurement,
} from '../../bench/lib/index.js';
import { isMeshError } from '../../src/common/errors.js';

test('percentiles: nearest rank, µs in → ms out', () => {
  const us = Array.from({ length: 100 }, (_, i) => (i + 1) * 1000); // 1..100 ms
  const s = summarizeMicros(us.reverse());
  assert.deepEqual(
    { min: s.min, p50: s.p50, p90: s.p90, p99: s.p99, max: s.max, mean: s.mean, count: s.count },
    { min: 1, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5, count: 100 },
  );
  assert.equal(percentileOfSorted([7], 99), 7);
  assert.ok(Number.isNaN(summarizeMicros([]).p50));
  assert.equal(summarizeMicros([123.4]).p50, 0.123);
});

const HEY = `
Summary:
  Total:	3.0028 secs
  Requests/sec:	997.7283

Latency distribution:
  10% in 0.0002 secs
  25% in 0.0002 secs
  50% in 0.0003 secs
  75% in 0.0003 secs
  90% in 0.0004 secs
  95% in 0.0005 secs
  99% in 0.0007 secs

Details (average, fastest, slowest):
  DNS+dialup:	0.0000 secs, 0.0001 secs, 0.0017 secs

Status code distribution:
  [200]	2990 responses
  [503]	3 responses

Error distribution:
  [2]	Get "http://127.0.0.1:1/": dial tcp: connection refused
`;

test('hey parser: rate, percentiles in ms, status and error counts', () => {
  const h = parseHeyOutput(HEY);
  assert.equal(h.requestsPerSecond, 997.7283);
  assert.equal(h.percentilesMs['50'], 0.3);
  assert.equal(h.percentilesMs['99'], 0.7);
  assert.deepEqual(h.statusCounts, { '200': 2990, '503': 3 });
  assert.equal(h.errors, 2);
  assert.throws(() => parseHeyOutput('Error: connection refused'), (e: unknown) => isMeshError(e, 'BENCH_TOOL'));
});

test('iperf3 parser: sums, direction, streams, error documents', () => {
  const doc = {
    start: { test_start: { reverse: 1, num_streams: 4 } },
    end: {
      sum_sent: { seconds: 5, bytes: 1000, bits_per_second: 1600, retransmits: 3 },
      sum_received: { seconds: 5, bytes: 990, bits_per_second: 1584 },
      cpu_utilization_percent: { host_total: 50, remote_total: 40 },
    },
  };
  const r = parseIperfJson(JSON.stringify(doc));
  assert.deepEqual(r, {
    reverse: true,
    parallel: 4,
    seconds: 5,
    senderBitsPerSecond: 1600,
    receiverBitsPerSecond: 1584,
    bytesSent: 1000,
    bytesReceived: 990,
    unaccountedBytes: 10,
    retransmits: 3,
    cpuPercent: { host: 50, remote: 40 },
  });
  assert.throws(() => parseIperfJson('{"error":"unable to connect to server: Connection refused"}'), /iperf3: unable to connect/);
});

const ROWS: Measurement[] = [
  { id: 'throughput.single', label: 'TCP 1 stream', unit: 'Gbit/s', better: 'higher', values: { direct: 30, ambit: 6, stunnel: 4 } },
  { id: 'latency.1000.p50', label: 'p50 @1000/s', unit: 'ms', better: 'lower', values: { direct: 0.1, ambit: 0.25, stunnel: 0.2 } },
  { id: 'cpu.agent', label: 'agent CPU per 1k req/s', unit: 'vCPU', better: 'lower', values: { direct: null, ambit: 0.08, stunnel: 0.05 } },
];

test('table: one row per measurement, a column per path, ambit ratios to direct and stunnel', () => {
  const text = formatTable(ROWS, { paths: ['direct', 'ambit', 'stunnel'] });
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 2 + ROWS.length);
  assert.match(lines[0]!, /^measurement\s+unit\s+direct\s+ambit\s+stunnel\s+ambit\/direct\s+ambit\/stunnel$/);
  assert.match(lines[2]!, /^TCP 1 stream\s+Gbit\/s\s+30\s+6\s+4\s+0\.20×\s+1\.50×$/);
  assert.match(lines[3]!, /0\.25\s+0\.2\s+2\.50×\s+1\.25×$/);
  assert.match(lines[4]!, /—\s+0\.08\s+0\.05\s+—\s+1\.60×$/);
  assert.equal(new Set(lines.map((l) => l.length)).size <= 2, true); // fixed width (header/rows padded)
  assert.equal(ratio(ROWS[0]!, 'ambit', 'direct'), 0.2);
  assert.equal(ratio(ROWS[2]!, 'ambit', 'direct'), null);
  assert.equal(formatValue(12345.6), '12346');
  assert.equal(formatValue(0.012345), '0.0123');
  assert.equal(formatValue(null), '—');
  // Without a stunnel column there is no ambit/stunnel ratio.
  assert.doesNotMatch(formatTable(ROWS, { paths: ['direct', 'ambit'] }), /ambit\/stunnel/);
});

test('svg chart: well-formed, one bar per path per group, labels and legend present', () => {
  const spec = benchChartSpec({
    subtitle: '2 cores, Linux 6.1 & <test>',
    paths: ['direct', 'ambit', 'stunnel'],
    throughput: [
      { label: '1 stream', values: { direct: 30, ambit: 6, stunnel: 4 } },
      { label: '-R', values: { direct: 28, ambit: 5.5, stunnel: 3.9 } },
      { label: '-P 4', values: { direct: 32, ambit: null, stunnel: 5 } },
    ],
    latency: [
      { rate: 1000, p50: { direct: 0.1, ambit: 0.3, stunnel: 0.2 }, p90: { direct: 0.2, ambit: 0.5, stunnel: 0.3 }, p99: { direct: 0.5, ambit: 1.2, stunnel: 0.8 } },
    ],
  });
  const svg = renderBarChartSvg(spec);
  assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.equal((svg.match(/<rect [^>]*fill="#1f6fb4"><title>/g) ?? []).length, 2 + 3); // ambit: 2 throughput (one n/a) + 3 latency
  assert.equal((svg.match(/>n\/a</g) ?? []).length, 1);
  assert.match(svg, /HTTP latency at 1000 req\/s/);
  assert.match(svg, /&amp; &lt;test&gt;/); // text escaped
  assert.doesNotMatch(svg, /NaN|undefined/);
  // Every opened element is closed (cheap well-formedness check; the PNG render is manual).
  const opened = (svg.match(/<(svg|text|rect|line|style|title)\b[^>]*>/g) ?? []).filter((tag) => !tag.endsWith('/>')).length;
  const closed = (svg.match(/<\/(svg|text|rect|line|style|title)>/g) ?? []).length;
  assert.equal(opened, closed);
  assert.equal(niceCeil(7.3), 10);
  assert.equal(niceCeil(0.42), 0.5);
  assert.equal(niceCeil(1.9), 2);
});

test('progress: step lines with index, elapsed and an ETA from finished weight', () => {
  let now = 0;
  const lines: string[] = [];
  const p = new Progress(4, 3, { out: { write: (s: string) => lines.push(s) }, now: () => now });
  p.step('iperf3 direct', 2);
  now = 20_000;
  p.step('iperf3 ambit', 1);
  now = 30_000;
  p.step('latency', 1);
  p.note('p50 0.2 ms');
  now = 75_000;
  p.finish();
  assert.deepEqual(lines, [
    '[1/3] iperf3 direct  (elapsed 0s, ETA ?)\n',
    '[2/3] iperf3 ambit  (elapsed 20s, ETA 20s)\n',
    '[3/3] latency  (elapsed 30s, ETA 10s)\n',
    '      p50 0.2 ms\n',
    'done in 1m15s\n',
  ]);
  assert.equal(formatDuration(3725), '1h02m05s');
});

test('machine info: cores, kernel, node version, cpu model', () => {
  const m = machineInfo();
  assert.ok(m.cores >= 1);
  assert.match(m.kernel, /^\d+\.\d+/);
  assert.equal(m.node, process.version);
  assert.ok(m.cpuModel.length > 0);
});
