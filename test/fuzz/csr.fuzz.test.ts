// Fuzz: the CA's PKCS#10 reader (src/identity/x509-der.ts parseCsr, through readCsr), which parses
// DER sent by callers. Property: a mutated request either is refused with an Error or, if it is
// accepted, its self-signature held, so it names exactly the identity that was signed; nothing hangs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCsr, generateKeyPair, readCsr } from '../../src/identity/index.js';
import { fuzz } from '../helpers/fuzz.js';

const ID = 'spiffe://cluster.local/ns/default/sa/sleep';
const MAX_CASE_MS = 500;

const derOf = (pem: string): Buffer => Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
const pemOf = (der: Uint8Array): string => `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE REQUEST-----`;

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'set'; at: number; value: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; bytes: number[] } | { kind: 'drop'; at: number; n: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x7f, 0x80, 0x81, 0x84, 0xff, 0x30, 0xa0, 0x86) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
);

function apply(der: Buffer, ms: readonly Mutation[]): Buffer {
  let b = Buffer.from(der);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'flip') b[at] = b[at]! ^ (1 << m.bit);
    else if (m.kind === 'set') b[at] = m.value;
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
  }
  return b;
}

test('fuzz: mutated CSRs are refused with an Error or carry exactly the signed identity', async () => {
  const keys = await generateKeyPair();
  const der = derOf(await createCsr(ID, keys));
  assert.deepEqual((await readCsr(pemOf(der))).uris, [ID], 'the unmutated request reads back');
  let accepted = 0;
  const runs = await fuzz(
    'csr mutations',
    fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (ms) => {
      const started = performance.now();
      try {
        const csr = await readCsr(pemOf(apply(der, ms)));
        accepted++;
        assert.deepEqual(csr.uris, [ID], 'an accepted request names only the signed identity');
      } catch (err) {
        assert.ok(err instanceof Error, `only Errors escape, got ${String(err)}`);
      }
      assert.ok(performance.now() - started < MAX_CASE_MS, 'no case takes long');
    }),
    3000,
  );
  assert.ok(runs >= 3000);
  // Mutations that land outside the signed part (e.g. trailing bytes) may still verify; most do not.
  assert.ok(accepted < runs / 2, `most mutations are refused (${accepted} of ${runs} accepted)`);
});

test('fuzz: random bytes in PEM armour never crash the reader', async () => {
  await fuzz(
    'csr noise',
    fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
      await assert.rejects(readCsr(pemOf(bytes)), (err: unknown) => err instanceof Error);
    }),
    2000,
  );
});
