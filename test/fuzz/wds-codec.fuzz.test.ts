// Fuzz: WDS decoders and the client's resource store on random and mutated control-plane input.
// Property: a decoder returns (and re-encodes to the same model) or throws XDS_INVALID, nothing else.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isMeshError } from '../../src/common/errors.js';
import { ProxyState } from '../../src/state/index.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  XdsResourceStore,
  decodeAddress,
  decodeAuthorization,
  encodeAddress,
  encodeAuthorization,
} from '../../src/xds/index.js';
import { fuzz } from '../helpers/fuzz.js';
import { richAuthorization, richService, richWorkload } from '../helpers/wds-fixtures.js';

const SEEDS = {
  workload: encodeAddress(richWorkload()),
  service: encodeAddress(richService()),
  policy: encodeAuthorization(richAuthorization()),
};

/** Bit flips, byte overwrites and a truncation of a valid encoding. */
function mutated(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), flip: fc.boolean() }), { maxLength: 6 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    })
    .map(({ edits, cut }) => {
      const out = Uint8Array.from(seed);
      for (const e of edits) {
        const i = e.at % out.length;
        out[i] = e.flip ? (out[i] as number) ^ (1 << (e.value % 8)) : e.value;
      }
      return cut === undefined ? out : out.subarray(0, cut % (out.length + 1));
    });
}

function only(kind: 'address' | 'authorization', bytes: Uint8Array, name: string): void {
  try {
    if (kind === 'address') {
      const d = decodeAddress(bytes, name);
      // Whatever is accepted must be re-encodable and usable by the state.
      const again = decodeAddress(encodeAddress(d.kind === 'workload' ? d.workload : d.service), name);
      assert.deepEqual(again, d);
      new ProxyState().apply(d.kind === 'workload' ? { workloads: [d.workload], services: [], policies: [] } : { workloads: [], services: [d.service], policies: [] });
    } else {
      const p = decodeAuthorization(bytes, name);
      assert.deepEqual(decodeAuthorization(encodeAuthorization(p), name), p);
    }
  } catch (err) {
    assert.ok(isMeshError(err, 'XDS_INVALID'), `only XDS_INVALID may escape, got ${(err as Error)?.stack ?? String(err)}`);
  }
}

test('decoders on random bytes: accepted or XDS_INVALID, nothing else', async () => {
  await fuzz('random bytes', fc.property(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 20 }), (bytes, name) => {
    only('address', bytes, name);
    only('authorization', bytes, name);
  }), 1500);
});

test('decoders on mutated rich resources: accepted (and round-trippable) or XDS_INVALID', async () => {
  await fuzz('mutated workload', fc.property(mutated(SEEDS.workload), (b) => only('address', b, richWorkload().uid)), 800);
  await fuzz('mutated service', fc.property(mutated(SEEDS.service), (b) => only('address', b, 'default/echo.default.svc.cluster.local')), 800);
  await fuzz('mutated policy', fc.property(mutated(SEEDS.policy), (b) => only('authorization', b, 'default/allow-some')), 800);
});

test('the resource store on a response of mutated resources: never throws; refused ones are listed by name', async () => {
  await fuzz(
    'store',
    fc.property(fc.array(mutated(SEEDS.workload), { minLength: 1, maxLength: 5 }), fc.array(mutated(SEEDS.policy), { maxLength: 3 }), (addresses, policies) => {
      const store = new XdsResourceStore();
      const a = store.handle({ typeUrl: ADDRESS_TYPE_URL, nonce: '1', resources: addresses.map((value, i) => ({ name: i === 0 ? richWorkload().uid : `r${i}`, version: '1', resource: { typeUrl: ADDRESS_TYPE_URL, value } })), removedResources: [] });
      assert.equal(a.accepted + a.rejected.length, addresses.length);
      const p = store.handle({ typeUrl: AUTHORIZATION_TYPE_URL, nonce: '2', resources: policies.map((value) => ({ name: 'default/allow-some', version: '1', resource: { typeUrl: AUTHORIZATION_TYPE_URL, value } })), removedResources: [] });
      assert.equal(p.accepted + p.rejected.length, policies.length);
      new ProxyState().apply(store.snapshot());
    }),
    400,
  );
});
