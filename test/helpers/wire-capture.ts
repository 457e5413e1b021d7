// What crosses a pod's veth while a function runs: tcpdump in the root netns writes a pcap, then the
// packets are summarised (one line per packet) and the raw bytes kept, to look for plaintext.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WireCapture<T> {
  /** The function's result. */
  readonly result: T;
  /** `tcpdump -nn -r` lines of IP packets, e.g. `... IP 10.3.0.2.41234 > 10.3.0.4.15008: Flags [S] ...`. */
  readonly packets: string[];
  /** The pcap file's bytes (headers and payloads). */
  readonly raw: Buffer;
}

/** Where the captured TCP SYNs (connection attempts) went, as `ip:port`, each once, in order. */
export function synDestinations(packets: readonly string[]): string[] {
  const dst = packets.filter((l) => /Flags \[S\]/.test(l)).map((l) => / > ([\d.]+)\.(\d+):/.exec(l)).filter((m) => m !== null).map((m) => `${m[1]}:${m[2]}`);
  return [...new Set(dst)];
}

/** Captures TCP packets of `host` on `iface` (a pod's root-side veth) while `fn` runs. */
export async function captureWire<T>(iface: string, host: string, fn: () => Promise<T>): Promise<WireCapture<T>> {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-pcap-'));
  const pcap = join(dir, 'wire.pcap');
  try {
    const dump = spawn('tcpdump', ['-i', iface, '--immediate-mode', '-Z', 'root', '-nn', '-U', '-w', pcap, `tcp and host ${host}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = once(dump, 'exit');
    await new Promise<void>((resolve, reject) => {
      dump.stderr!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      void exited.then(([code]) => reject(new Error(`tcpdump exited with ${String(code)} before listening`)));
    });
    let result: T;
    try {
      result = await fn();
      // Immediate mode hands each packet over at once; the pause lets it write the last FIN/ACKs.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      dump.kill('SIGINT');
      await exited;
    }
    const text = spawn('tcpdump', ['-r', pcap, '-nn'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    text.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await once(text, 'exit');
    return { result, packets: out.split('\n').filter((l) => l.includes(' IP ')), raw: readFileSync(pcap) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
