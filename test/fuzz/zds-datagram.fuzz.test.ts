// Fuzz: a ZDS datagram (bytes and fds, as recvmsg hands them over) into parseZdsDatagram, then the
// connection's transition. Property: nothing throws; a refusal hands back every fd received (none may
// leak) with a reason; an accepted AddWorkload owns exactly the one fd sent, and nothing else does.
// Inputs: well-formed requests (from the codec), their bytes mutated, and noise.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeWorkloadRequest, NEW_SESSION, parseZdsDatagram, zdsTransition, type ZdsRequest } from '../../src/inpod/index.js';
import { fuzz } from '../helpers/fuzz.js';

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', 'uid-1', 'ü', '\u0000'));
const request: fc.Arbitrary<ZdsRequest> = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    uid: text,
    info: fc.option(fc.record({ name: text, namespace: text, serviceAccount: text }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('keep' as const), uid: text }),
  fc.record({ kind: fc.constant('del' as const), uid: text }),
  fc.constant({ kind: 'snapshot-sent' as const }),
);

/** Well-formed bytes, optionally with some bytes overwritten, truncated or extended. */
const bytes = fc.oneof(
  request.map((r) => encodeWorkloadRequest(r)),
  fc.tuple(request, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), fc.uint8Array({ maxLength: 8 })).map(([r, edits, cut, tail]) => {
    const b = Buffer.from(encodeWorkloadRequest(r));
    for (const [i, v] of edits) if (b.length > 0) b[i % b.length] = v;
    const kept = b.subarray(0, b.length === 0 ? 0 : cut % (b.length + 1));
    return Buffer.concat([kept, tail]);
  }),
  fc.uint8Array({ maxLength: 64 }),
);

const datagram = fc.record({
  data: bytes,
  fds: fc.array(fc.integer({ min: 3, max: 1000 }), { maxLength: 3 }),
  truncated: fc.boolean(),
  controlTruncated: fc.boolean(),
});

test('fuzz: any datagram is parsed or refused; fds are never lost; transitions never throw', async () => {
  await fuzz(
    'zds datagram',
    fc.property(datagram, (d) => {
      const r = parseZdsDatagram(d);
      if (!r.ok) {
        assert.ok(r.reason.length > 0);
        assert.deepEqual(r.closeFds, d.fds, 'a refusal hands back every fd received');
        return;
      }
      assert.equal(d.truncated || d.controlTruncated, false);
      if (r.message.kind === 'add') {
        assert.deepEqual(d.fds, [r.message.netnsFd], 'an accepted Add owns the one fd sent');
        assert.ok(r.message.uid.length > 0);
      } else {
        assert.deepEqual(d.fds, [], 'no other request may come with an fd');
      }
      for (const state of [NEW_SESSION, zdsTransition(NEW_SESSION, { kind: 'snapshot-sent' }).state]) {
        const t = zdsTransition(state, r.message);
        assert.ok(t.action.do.length > 0);
      }
    }),
    3000,
  );
});
