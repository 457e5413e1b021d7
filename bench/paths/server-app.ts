// The server pod's applications, the same on every path: the bench HTTP server (1 KB responses) on
// APP_HTTP_PORT, iperf3 servers on APP_IPERF_PORT (started per run), and a one-request path probe.

import { runTool, startBenchHttpServerIn, type RunIn } from '../lib/index.js';
import { MeshError } from '../../src/common/errors.js';
import type { BenchEnv } from './bench-env.js';

export const APP_HTTP_PORT = 8080;
export const APP_IPERF_PORT = 5201;
/** Response body of every HTTP measurement, bytes. */
export const HTTP_BODY_BYTES = 1024;

export interface ServerApp {
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts the bench HTTP server on 0.0.0.0:APP_HTTP_PORT in `pod`, tracked for cleanup. */
export async function startServerApp(env: BenchEnv, pod: string): Promise<ServerApp> {
  const srv = await startBenchHttpServerIn(env.inPod(pod), { host: '0.0.0.0', port: APP_HTTP_PORT, bodyBytes: HTTP_BODY_BYTES });
  env.processes.track(`http server in ${pod}`, srv.process);
  return { pid: srv.process.pid, stop: () => srv.process.stop() };
}

/**
 * One GET from the client pod through the path (curl, an unmodified client): proves the path carries
 * traffic before anything is measured, so a broken path fails setup instead of producing zeros.
 */
export async function probeHttp(client: RunIn, host: string, port: number): Promise<void> {
  const url = `http://${host}:${port}/bench-probe`;
  const res = await runTool(client, ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '--max-time', '10', url], {
    check: false,
    timeoutMs: 15_000,
  });
  if (res.stdout.trim() !== `200 ${HTTP_BODY_BYTES}`) {
    throw new MeshError('BENCH_TOOL', `probe ${url} from the client pod answered "${res.stdout.trim()}": ${res.stderr.trim()}`);
  }
}
