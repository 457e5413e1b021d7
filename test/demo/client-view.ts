// What the waypoint demo's client pod sees: a batch of requests over one keep-alive curl (status,
// x-version of the answering backend, time per request), `hey` runs, and compact summaries of them.

import type { WaypointMesh } from '../helpers/waypoint-mesh.js';
import type { WpPodName } from '../helpers/waypoint-manifests.js';
import { DemoCheckError } from './demo-checks.js';

const TTY = process.stdout.isTTY === true;
const QUICK = process.env.AMBIT_DEMO_QUICK === '1';

/**
 * Requests per measurement. `split`: weighted splits (100 keeps a 90/10 check tight: a correct
 * split fails it about once in 10^5 runs); `batch`: all-or-nothing views; `half`: 50 % effects.
 * AMBIT_DEMO_QUICK=1 (the CI smoke test) uses the smaller counts.
 */
export const REQUESTS = QUICK ? { split: 100, batch: 20, half: 40 } : { split: 200, batch: 50, half: 100 };

/** One request as the client saw it: HTTP status, the backend's version header, ms. */
export interface Outcome {
  readonly status: number;
  /** `x-version` of the answer (`v1`/`v2` from the echo pods), '' for answers the waypoint made. */
  readonly version: string;
  readonly ms: number;
}

export interface BatchSpec {
  /** The path (and query) on Service `svc`. */
  readonly path: string;
  readonly n: number;
  readonly svc?: 'echo' | 'echo-v1' | 'echo-v2';
  readonly pod?: WpPodName;
  /** `Name: value` request headers. */
  readonly headers?: readonly string[];
  readonly method?: string;
  readonly maxTimeS?: number;
}

/**
 * `n` requests in one curl process from the client pod, in sequence on one keep-alive connection
 * (the waypoint routes each request on its own). Progress on a terminal while they run.
 */
export async function batch(wm: WaypointMesh, spec: BatchSpec): Promise<Outcome[]> {
  const url = wm.url(spec.svc ?? 'echo', spec.path);
  const args = ['curl', '-sS', '--max-time', String(spec.maxTimeS ?? 10), '-w', '%{http_code}|%header{x-version}|%{time_total}\\n'];
  for (const h of spec.headers ?? []) args.push('-H', h);
  if (spec.method) args.push('-X', spec.method);
  for (let i = 0; i < spec.n; i++) args.push('-o', '/dev/null', url);
  const child = wm.topo.spawn(spec.pod ?? 'c1', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Outcome[] = [];
  if (TTY) process.stdout.write(`\r      … 0/${spec.n}`);
  let partial = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      const [code, version, seconds] = line.split('|');
      out.push({ status: Number(code), version: version ?? '', ms: Number(seconds) * 1000 });
    }
    if (TTY) process.stdout.write(`\r      … ${out.length}/${spec.n}`);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), (spec.maxTimeS ?? 10) * 1000 * spec.n + 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  if (TTY) process.stdout.write('\r\x1b[K');
  // curl exits non-zero when a transfer fails (its line then has status 000); that is an outcome too.
  if (out.length !== spec.n) throw new Error(`curl in ${spec.pod ?? 'c1'} gave ${out.length} of ${spec.n} results (exit ${code}): ${stderr.trim()}`);
  // Every scenario expects an HTTP answer to every request: none is a failure whatever the step.
  const lost = out.filter((o) => o.status === 0).length;
  if (lost > 0) throw new DemoCheckError(`expected an HTTP answer to each of ${spec.n} requests to ${spec.path}; ${lost} got none: ${stderr.trim()}`);
  return out;
}

/** The command line the batch stands for, as the narration shows it (`http://echo` is the VIP). */
export function batchCommand(spec: BatchSpec): string {
  const h = (spec.headers ?? []).map((x) => ` -H '${x}'`).join('');
  const m = spec.method ? ` -X ${spec.method}` : '';
  return `${spec.pod ?? 'c1'}$ curl${m}${h} http://${spec.svc ?? 'echo'}${spec.path}  ×${spec.n}`;
}

/** How many items have each key (e.g. answers per version: `v1 → 91, v2 → 9`), sorted by key. */
export function countBy<T>(items: readonly T[], key: (t: T) => string | number): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(String(key(i)), (m.get(String(key(i))) ?? 0) + 1);
  return new Map([...m].sort(([a], [b]) => a.localeCompare(b)));
}

const histogram = (m: Map<string, number>): string => [...m].map(([k, v]) => `${k} ×${v}`).join(', ');

/** "v1 ×91, v2 ×9" (answers without a version are listed by status, e.g. "503 ×3"). */
export function versionLine(out: readonly Outcome[]): string {
  return histogram(countBy(out, (o) => o.version || `status ${o.status}`));
}

/** "200 ×50, 500 ×50". */
export function statusLine(out: readonly Outcome[]): string {
  return histogram(countBy(out, (o) => o.status));
}

/** "median 3 ms, max 12 ms" (or the one time for a single request). */
export function timingLine(out: readonly Outcome[]): string {
  const ms = out.map((o) => o.ms).sort((a, b) => a - b);
  if (ms.length === 1) return fmtMs(ms[0]!);
  return `median ${fmtMs(ms[Math.floor(ms.length / 2)]!)}, max ${fmtMs(ms[ms.length - 1]!)}`;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** `hey -n N -c C` from c1 on a path of Service echo: the status histogram, as hey prints it. */
export async function heyRun(wm: WaypointMesh, path: string, n: number, c: number): Promise<{ statuses: Map<string, number>; line: string; command: string }> {
  const r = await wm.hey(wm.url('echo', path), n, c);
  if (r.errors.length > 0) throw new Error(`hey saw transport errors: ${r.errors.join('; ')}`);
  const statuses = new Map(Object.entries(r.statuses).sort(([a], [b]) => a.localeCompare(b)));
  return { statuses, line: histogram(statuses), command: `c1$ hey -n ${n} -c ${c} http://echo${path}` };
}
