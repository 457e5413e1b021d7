// The ZDS codec: the in-code descriptor matches proto/istio/zds/zds.proto field for field, known wire
// bytes decode to the right requests (hand-encoded, independent of protobufjs), and bad bytes are
// refused with ZDS_PROTOCOL.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { isMeshError } from '../../src/common/errors.js';
import {
  decodeAck,
  decodeWorkloadRequest,
  decodeZdsHello,
  encodeAck,
  encodeWorkloadRequest,
  encodeZdsHello,
  ZDS_DESCRIPTOR,
  type ZdsRequest,
} from '../../src/inpod/index.js';
import { protoDir } from '../../src/xds/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Buffer.from(h, 'hex');
/** A length-delimited field: tag, length, payload (all ZDS fields are small). */
const ld = (field: number, payloadHex: string): string => ((field << 3) | 2).toString(16).padStart(2, '0') + (payloadHex.length / 2).toString(16).padStart(2, '0') + payloadHex;
const str = (field: number, s: string): string => ld(field, Buffer.from(s).toString('hex'));

test('the in-code descriptor is proto/istio/zds/zds.proto: same messages, fields, numbers, types, oneofs', () => {
  const file = new protobuf.Root().loadSync(join(protoDir(), 'istio', 'zds', 'zds.proto'), { keepCase: true });
  const code = protobuf.Root.fromJSON(ZDS_DESCRIPTOR);
  const pkg = (r: protobuf.Root): protobuf.Namespace => r.lookup('istio.workload.zds') as protobuf.Namespace;
  const shape = (ns: protobuf.Namespace): unknown =>
    Object.fromEntries(
      ns.nestedArray.map((n) =>
        n instanceof protobuf.Type
          ? [n.name, { fields: Object.fromEntries(n.fieldsArray.map((f) => [f.name, [f.id, f.type]])), oneofs: n.oneofsArray.map((o) => [o.name, o.oneof]) }]
          : [n.name, { ...(n as protobuf.Enum).values }],
      ),
    );
  assert.deepEqual(shape(pkg(code)), shape(pkg(file)));
  // The upstream wire facts, spelled out: Del's uid is field 2, Keep is oneof member 5.
  assert.equal(code.lookupType('istio.workload.zds.DelWorkload').fields.uid!.id, 2);
  assert.equal(code.lookupType('istio.workload.zds.WorkloadRequest').fields.keep!.id, 5);
});

const INFO = { name: 'c1', namespace: 'default', serviceAccount: 'client' };
const infoHex = str(1, 'c1') + str(2, 'default') + str(3, 'client');

// Hand-encoded wire bytes → request, and back (encodeWorkloadRequest is the istio-cni side).
const CASES: ReadonlyArray<{ name: string; wire: string; req: ZdsRequest }> = [
  { name: 'AddWorkload with workload_info', wire: ld(1, str(1, 'uid-1') + ld(2, infoHex)), req: { kind: 'add', uid: 'uid-1', info: INFO } },
  { name: 'AddWorkload without workload_info', wire: ld(1, str(1, 'uid-1')), req: { kind: 'add', uid: 'uid-1', info: undefined } },
  { name: 'KeepWorkload (oneof member 5)', wire: ld(5, str(1, 'uid-2')), req: { kind: 'keep', uid: 'uid-2' } },
  { name: 'DelWorkload (uid is field 2)', wire: ld(2, str(2, 'uid-3')), req: { kind: 'del', uid: 'uid-3' } },
  { name: 'SnapshotSent', wire: ld(3, ''), req: { kind: 'snapshot-sent' } },
];

for (const c of CASES) {
  test(`wire bytes of ${c.name} decode, and encode to the same bytes`, () => {
    assert.deepEqual(decodeWorkloadRequest(bytes(c.wire)), c.req);
    assert.equal(hex(encodeWorkloadRequest(c.req)), c.wire);
  });
}

test('an unknown field before the payload is skipped (proto3); the last oneof member wins', () => {
  assert.deepEqual(decodeWorkloadRequest(bytes('4801' + ld(2, str(2, 'u')))), { kind: 'del', uid: 'u' });
  assert.deepEqual(decodeWorkloadRequest(bytes(ld(2, str(2, 'u')) + ld(3, ''))), { kind: 'snapshot-sent' });
});

const BAD: ReadonlyArray<{ name: string; wire: string; reason: RegExp }> = [
  { name: 'garbage', wire: 'ffffffff', reason: /^malformed WorkloadRequest \(4 bytes\)/ },
  { name: 'a length past the end', wire: '0a10' + str(1, 'x'), reason: /^malformed WorkloadRequest/ },
  { name: 'an empty message (no payload)', wire: '', reason: /^WorkloadRequest without a payload$/ },
  { name: 'only unknown fields', wire: '4801', reason: /^WorkloadRequest without a payload$/ },
  { name: 'Add with an empty uid', wire: ld(1, ld(2, infoHex)), reason: /^AddWorkload with an empty uid$/ },
  { name: 'Keep with an empty uid', wire: ld(5, ''), reason: /^KeepWorkload with an empty uid$/ },
  { name: 'Del with the uid in field 1 (the wrong number)', wire: ld(2, str(1, 'u')), reason: /^DelWorkload with an empty uid$/ },
];

for (const c of BAD) {
  test(`refused: ${c.name}`, () => {
    assert.throws(
      () => decodeWorkloadRequest(bytes(c.wire)),
      (err: unknown) => isMeshError(err, 'ZDS_PROTOCOL') && c.reason.test(err.message),
    );
  });
}

test('the agent side: ZdsHello{V1} is 0801; Ack is WorkloadResponse{ack{error}}; empty error = 0a00', () => {
  assert.equal(hex(encodeZdsHello()), '0801');
  assert.deepEqual(decodeZdsHello(bytes('0801')), { version: 1 });
  assert.equal(hex(encodeAck('')), '0a00');
  assert.equal(hex(encodeAck('no')), ld(1, str(1, 'no')));
  assert.deepEqual(decodeAck(encodeAck('failure to start proxy: x')), { error: 'failure to start proxy: x' });
});
