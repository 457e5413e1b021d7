// Large deterministic bodies for streaming tests: generated chunk by chunk (never held whole),
// identical at both ends of a transfer, with their SHA-256 computed the same way.

import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

const BLOCK = 64 * 1024;
const base = randomBytes(BLOCK);

/** Chunk `i` of the pattern: the shared random block with its first 8 bytes set to i. */
function chunk(i: number, size: number): Buffer {
  const b = Buffer.from(base.subarray(0, size));
  b.writeBigUInt64BE(BigInt(i), 0);
  return b;
}

/** A readable stream of `bytes` pattern bytes (backpressure-driven). */
export function patternStream(bytes: number): Readable {
  let i = 0;
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(BLOCK, left);
      left -= n;
      this.push(n >= 8 ? chunk(i++, n) : Buffer.alloc(n, 7));
    },
  });
}

/** SHA-256 (hex) of the first `bytes` pattern bytes, computed without holding them. */
export function patternSha256(bytes: number): string {
  const h = createHash('sha256');
  let i = 0;
  for (let left = bytes; left > 0; left -= BLOCK) {
    const n = Math.min(BLOCK, left);
    h.update(n >= 8 ? chunk(i++, n) : Buffer.alloc(n, 7));
  }
  return h.digest('hex');
}

/** Hashes a readable to its end: [sha256 hex, bytes]. */
export function sha256Of(s: NodeJS.EventEmitter): Promise<{ sha: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    s.on('data', (c: Buffer) => {
      bytes += c.length;
      h.update(c);
    });
    s.once('end', () => resolve({ sha: h.digest('hex'), bytes }));
    s.once('error', reject);
  });
}
