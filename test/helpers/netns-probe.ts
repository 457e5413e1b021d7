// TCP probes that run inside a topology pod: a listener that reports each connection's local,
// peer and SO_ORIGINAL_DST address, and a client that can set SO_MARK and IP_TRANSPARENT. They are
// python3 (stdlib only) because Node has no SO_MARK, IP_TRANSPARENT or SO_ORIGINAL_DST.

import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import type { Topology } from './netns-topology.js';

const PROBE_PY = String.raw`
import json, socket, struct, sys
SO_ORIGINAL_DST = 80
def fmt(a): return "%s:%d" % (a[0], a[1])
def out(o): print(json.dumps(o), flush=True)
def listen(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(128)
    out({"event": "listening", "port": s.getsockname()[1]})
    while True:
        c, peer = s.accept()
        local = c.getsockname()
        od = None
        try:
            raw = c.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
            p, ip = struct.unpack("!2xH4s8x", raw)
            od = "%s:%d" % (socket.inet_ntoa(ip), p)
        except OSError:
            pass
        c.settimeout(5)
        data = b""
        try:
            data = c.recv(4096)
            c.sendall(b"ack:" + data)
        except OSError:
            pass
        c.close()
        out({"event": "conn", "local": fmt(local), "peer": fmt(peer), "originalDst": od, "data": data.decode("utf-8", "replace")})
def connect(host, port, mark, src, transparent, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if mark: s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
        if transparent: s.setsockopt(socket.SOL_IP, socket.IP_TRANSPARENT, 1)
        if src: s.bind((src, 0))
        s.connect((host, port))
        local = fmt(s.getsockname())
        s.sendall(b"hello")
        reply = b""
        while True:
            d = s.recv(4096)
            if not d: break
            reply += d
        out({"ok": True, "local": local, "reply": reply.decode("utf-8", "replace")})
    except OSError as e:
        out({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
a = sys.argv[1:]
if a[0] == "listen": listen(a[1], int(a[2]))
else: connect(a[1], int(a[2]), int(a[3]), a[4], a[5] == "1", float(a[6]))
`;

export interface ProbeConnection {
  readonly local: string;
  readonly peer: string;
  /** SO_ORIGINAL_DST: the pre-REDIRECT destination; the destination itself for a tracked but
   * un-NATed connection; null when conntrack has no entry (no nat table in the netns). */
  readonly originalDst: string | null;
  readonly data: string;
}

export interface ProbeListener {
  readonly connections: ProbeConnection[];
  /** Resolves with the n-th connection (1-based), waiting for it if needed. */
  nth(n: number): Promise<ProbeConnection>;
  close(): Promise<void>;
}

/** Starts a listener on host:port inside `pod`; resolves once it is bound. */
export async function startProbeListener(topo: Topology, pod: string, host: string, port: number): Promise<ProbeListener> {
  const child: ChildProcess = topo.spawn(pod, ['python3', '-c', PROBE_PY, 'listen', host, String(port)]);
  const connections: ProbeConnection[] = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const listening = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`probe listener ${pod} ${host}:${port} exited ${code}: ${stderr}`)));
    lines.on('line', (line) => {
      const ev = JSON.parse(line) as { event: string } & ProbeConnection;
      if (ev.event === 'listening') resolve();
      else if (ev.event === 'conn') {
        connections.push({ local: ev.local, peer: ev.peer, originalDst: ev.originalDst, data: ev.data });
        for (const w of waiters.splice(0)) w();
      }
    });
  });
  await listening;
  return {
    connections,
    nth: async (n) => {
      while (connections.length < n) await new Promise<void>((r) => waiters.push(r));
      return connections[n - 1]!;
    },
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface ProbeConnectOptions {
  /** SO_MARK for the socket (1337 = the proxy's mark). */
  readonly mark?: number;
  /** Bind to this source address first (with `transparent`, a non-local one: a spoofed source). */
  readonly from?: string;
  readonly transparent?: boolean;
  /** Socket timeout in seconds (connect and each read); default 5. */
  readonly timeoutS?: number;
}

export type ProbeConnectResult = { ok: true; local: string; reply: string } | { ok: false; error: string };

/** Connects from inside `pod`, sends "hello", reads the reply until EOF. */
export async function probeConnect(
  topo: Topology,
  pod: string,
  host: string,
  port: number,
  opts: ProbeConnectOptions = {},
): Promise<ProbeConnectResult> {
  const args = [String(opts.mark ?? 0), opts.from ?? '', opts.transparent ? '1' : '0', String(opts.timeoutS ?? 5)];
  const r = await topo.exec(pod, ['python3', '-c', PROBE_PY, 'connect', host, String(port), ...args]);
  if (r.code !== 0) throw new Error(`probe connect in ${pod} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as ProbeConnectResult;
}
