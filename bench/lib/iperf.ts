// TCP throughput with iperf3: start a server (`iperf3 -s [-1]`) and run a client (`-J`, optionally -R
// and -P n) through RunIn wrappers, and read its JSON: rates, bytes sent vs received, retransmits, CPU.

import { MeshError } from '../../src/common/errors.js';
import { runHere, runTool, spawnTool, type RunIn, type ToolProcess } from './run-in.js';

export interface IperfServerOptions {
  /** Listening port (iperf3 cannot pick one: default 5201). */
  readonly port?: number;
  /** Bind address (`-B`); default all addresses. */
  readonly bind?: string;
  /** `-1`: serve one client test, then exit. */
  readonly oneOff?: boolean;
}

export interface IperfServer {
  readonly process: ToolProcess;
  readonly port: number;
  /** Stops the server (SIGTERM) if it is still running. */
  stop(): Promise<void>;
}

/** Starts `iperf3 -s` through runIn; resolves once it listens. */
export async function startIperfServer(runIn: RunIn = runHere, opts: IperfServerOptions = {}): Promise<IperfServer> {
  const port = opts.port ?? 5201;
  // --forceflush: the "Server listening" line must reach our pipe now, not when stdio's buffer fills.
  const cmd = ['iperf3', '-s', '-p', String(port), '--forceflush'];
  if (opts.bind !== undefined) cmd.push('-B', opts.bind);
  if (opts.oneOff) cmd.push('-1');
  const proc = spawnTool(runIn, cmd);
  try {
    await proc.waitFor(/Server listening on/);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { process: proc, port, stop: () => proc.stop() };
}

export interface IperfClientOptions {
  readonly host: string;
  readonly port?: number;
  /** Test length (`-t`), default 5 s. Ignored when `bytes` is set. */
  readonly seconds?: number;
  /**
   * Send this many bytes (`-n`; with -P rounded up to whole 128 KiB blocks per stream) instead of
   * running for `seconds`. iperf3 is not an exact byte-accounting tool in any mode: the receiver
   * stops counting at the end-of-test message (control connection) while data may still be in
   * flight, so bytesReceived < bytesSent by up to the path's buffers, even on loopback (seen: -t
   * ~3 MB of 4 GB; -n -P 2 1 MiB of 256 MiB; -n single stream exact in every run so far). For an
   * exact count through a path use tcp-sink.ts (sender half-closes, the sink reports what it read).
   */
  readonly bytes?: number;
  /** `-R`: the server sends, the client receives. */
  readonly reverse?: boolean;
  /** `-P n` parallel streams. */
  readonly parallel?: number;
  /** Client bind address (`-B`). */
  readonly bind?: string;
  /** Connect timeout in ms (`--connect-timeout`), default 5000. */
  readonly connectTimeoutMs?: number;
}

export interface IperfResult {
  readonly reverse: boolean;
  readonly parallel: number;
  /** Measured seconds (the sender's view). */
  readonly seconds: number;
  /** Bits per second as counted by the sender and by the receiver. */
  readonly senderBitsPerSecond: number;
  readonly receiverBitsPerSecond: number;
  /** Bytes written by the sending side and read by the receiving side (client → server unless reverse). */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** bytesSent − bytesReceived: 0 when every byte is accounted for (see IperfClientOptions.bytes). */
  readonly unaccountedBytes: number;
  /** TCP retransmits on the sender (Linux only; 0 when not reported). */
  readonly retransmits: number;
  /** iperf3's own CPU use in percent of one core, client (host) and server (remote). */
  readonly cpuPercent: { readonly host: number; readonly remote: number };
}

interface IperfSum {
  seconds?: number;
  bytes?: number;
  bits_per_second?: number;
  retransmits?: number;
}

/** Parses `iperf3 -c ... -J` output; an `error` member (refused, timed out) becomes a MeshError. */
export function parseIperfJson(text: string): IperfResult {
  let doc: {
    error?: string;
    start?: { test_start?: { reverse?: number; num_streams?: number } };
    end?: { sum_sent?: IperfSum; sum_received?: IperfSum; cpu_utilization_percent?: { host_total?: number; remote_total?: number } };
  };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (e) {
    throw new MeshError('BENCH_TOOL', `iperf3 printed no JSON: ${text.slice(0, 300)}`, { cause: e });
  }
  if (doc.error !== undefined) throw new MeshError('BENCH_TOOL', `iperf3: ${doc.error}`);
  const sent = doc.end?.sum_sent;
  const recv = doc.end?.sum_received;
  if (sent?.bytes === undefined || recv?.bytes === undefined) throw new MeshError('BENCH_TOOL', 'iperf3 JSON has no end.sum_sent/sum_received');
  return {
    reverse: doc.start?.test_start?.reverse === 1,
    parallel: doc.start?.test_start?.num_streams ?? 1,
    seconds: sent.seconds ?? 0,
    senderBitsPerSecond: sent.bits_per_second ?? 0,
    receiverBitsPerSecond: recv.bits_per_second ?? 0,
    bytesSent: sent.bytes,
    bytesReceived: recv.bytes,
    unaccountedBytes: sent.bytes - recv.bytes,
    retransmits: sent.retransmits ?? 0,
    cpuPercent: { host: doc.end?.cpu_utilization_percent?.host_total ?? 0, remote: doc.end?.cpu_utilization_percent?.remote_total ?? 0 },
  };
}

/** The client argv for `opts`. */
export function iperfClientCommand(opts: IperfClientOptions): string[] {
  const cmd = ['iperf3', '-c', opts.host, '-p', String(opts.port ?? 5201), '-J'];
  if (opts.bytes !== undefined) cmd.push('-n', String(opts.bytes));
  else cmd.push('-t', String(opts.seconds ?? 5));
  if (opts.reverse) cmd.push('-R');
  if (opts.parallel !== undefined && opts.parallel > 1) cmd.push('-P', String(opts.parallel));
  if (opts.bind !== undefined) cmd.push('-B', opts.bind);
  cmd.push('--connect-timeout', String(opts.connectTimeoutMs ?? 5000));
  return cmd;
}

/** Runs the iperf3 client through runIn against a running server. */
export async function runIperfClient(runIn: RunIn = runHere, opts: IperfClientOptions): Promise<IperfResult> {
  // iperf3 exits 1 with an {"error"} JSON document: parse it either way for the real reason.
  const res = await runTool(runIn, iperfClientCommand(opts), { check: false, timeoutMs: (opts.seconds ?? 5) * 1000 + 60_000 });
  return parseIperfJson(res.stdout);
}

/**
 * One complete measurement: a one-off server (`-s -1`) through serverRunIn, the client through
 * clientRunIn, then waits for the server to exit so the next run can reuse the port.
 */
export async function runIperf(
  serverRunIn: RunIn,
  clientRunIn: RunIn,
  opts: IperfClientOptions & { readonly serverBind?: string },
): Promise<IperfResult> {
  const server = await startIperfServer(serverRunIn, { port: opts.port, bind: opts.serverBind, oneOff: true });
  try {
    const result = await runIperfClient(clientRunIn, opts);
    await server.process.exited;
    return result;
  } finally {
    await server.stop();
  }
}
