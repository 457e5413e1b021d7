// The ZDS protocol logic, pure: what a received datagram (bytes + fds) is, and what each request
// means on a connection (the transition table), after ztunnel's protocol.rs and statemanager.rs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeWorkloadRequest,
  NEW_SESSION,
  parseZdsDatagram,
  zdsTransition,
  type ZdsAction,
  type ZdsMessage,
  type ZdsRequest,
  type ZdsSessionState,
} from '../../src/inpod/index.js';

const INFO = { name: 'p', namespace: 'ns', serviceAccount: 'sa' };
const enc = (r: ZdsRequest): Uint8Array => encodeWorkloadRequest(r);
const dgram = (data: Uint8Array, fds: number[] = [], flags: { truncated?: boolean; controlTruncated?: boolean } = {}) => ({
  data,
  fds,
  truncated: flags.truncated ?? false,
  controlTruncated: flags.controlTruncated ?? false,
});

// ---- datagrams ----------------------------------------------------------------------------------

const PARSE: ReadonlyArray<{ name: string; d: ReturnType<typeof dgram>; ok?: ZdsMessage; refused?: RegExp }> = [
  { name: 'Add with one fd', d: dgram(enc({ kind: 'add', uid: 'a', info: INFO }), [7]), ok: { kind: 'add', uid: 'a', info: INFO, netnsFd: 7 } },
  { name: 'Add without an fd', d: dgram(enc({ kind: 'add', uid: 'a', info: INFO })), refused: /^AddWorkload a without its netns fd \(SCM_RIGHTS\)$/ },
  { name: 'Add with two fds', d: dgram(enc({ kind: 'add', uid: 'a', info: INFO }), [7, 8]), refused: /^expected at most 1 fd, got 2$/ },
  { name: 'Add without workload_info', d: dgram(enc({ kind: 'add', uid: 'a', info: undefined }), [7]), refused: /^AddWorkload a without workload_info, which is required$/ },
  { name: 'Keep', d: dgram(enc({ kind: 'keep', uid: 'k' })), ok: { kind: 'keep', uid: 'k' } },
  { name: 'Keep with an fd', d: dgram(enc({ kind: 'keep', uid: 'k' }), [7]), refused: /^unexpected fd \(SCM_RIGHTS\) on KeepWorkload/ },
  { name: 'Del', d: dgram(enc({ kind: 'del', uid: 'd' })), ok: { kind: 'del', uid: 'd' } },
  { name: 'Del with an fd', d: dgram(enc({ kind: 'del', uid: 'd' }), [7]), refused: /^unexpected fd \(SCM_RIGHTS\) on DelWorkload/ },
  { name: 'SnapshotSent', d: dgram(enc({ kind: 'snapshot-sent' })), ok: { kind: 'snapshot-sent' } },
  { name: 'SnapshotSent with an fd', d: dgram(enc({ kind: 'snapshot-sent' }), [7]), refused: /^unexpected fd \(SCM_RIGHTS\) on SnapshotSent/ },
  { name: 'a truncated datagram', d: dgram(enc({ kind: 'del', uid: 'd' }), [], { truncated: true }), refused: /^received a truncated message \(longer than 1024 bytes\)$/ },
  { name: 'truncated ancillary data', d: dgram(enc({ kind: 'add', uid: 'a', info: INFO }), [7], { controlTruncated: true }), refused: /^received truncated ancillary data/ },
  { name: 'garbage with an fd', d: dgram(Buffer.from('ffff', 'hex'), [7]), refused: /^malformed WorkloadRequest/ },
];

for (const c of PARSE) {
  test(`datagram: ${c.name}`, () => {
    const r = parseZdsDatagram(c.d);
    if (c.ok) {
      assert.deepEqual(r, { ok: true, message: c.ok });
    } else {
      assert.equal(r.ok, false);
      assert.ok(!r.ok);
      assert.match(r.reason, c.refused!);
      // Every fd received is handed back to be closed: none may leak.
      assert.deepEqual(r.closeFds, c.d.fds);
    }
  });
}

// ---- the connection's transitions -------------------------------------------------------------

const add = (uid: string): ZdsMessage => ({ kind: 'add', uid, info: INFO, netnsFd: 9 });
const keep = (uid: string): ZdsMessage => ({ kind: 'keep', uid });
const del = (uid: string): ZdsMessage => ({ kind: 'del', uid });
const snap: ZdsMessage = { kind: 'snapshot-sent' };

/** Runs `messages` from a new connection; the actions, with sets as sorted arrays. */
function run(messages: readonly ZdsMessage[]): { actions: unknown[]; state: ZdsSessionState } {
  let state = NEW_SESSION;
  const actions: unknown[] = [];
  for (const m of messages) {
    const t = zdsTransition(state, m);
    state = t.state;
    actions.push(summary(t.action));
  }
  return { actions, state };
}

function summary(a: ZdsAction): unknown {
  switch (a.do) {
    case 'reconcile':
      return ['reconcile', [...a.keep].sort()];
    case 'refuse':
      return ['refuse', a.reason];
    default:
      return [a.do, a.uid];
  }
}

const SEQUENCES: ReadonlyArray<{ name: string; messages: ZdsMessage[]; actions: unknown[] }> = [
  {
    name: 'snapshot of adds and keeps, then adds and dels',
    messages: [add('a'), keep('b'), snap, add('c'), del('a')],
    actions: [['add', 'a'], ['keep', 'b'], ['reconcile', ['a', 'b']], ['add', 'c'], ['del', 'a']],
  },
  { name: 'an empty snapshot drops every pod held', messages: [snap], actions: [['reconcile', []]] },
  {
    name: 'a del before the snapshot takes the pod out of the snapshot set (ztunnel: forget, no error)',
    messages: [add('a'), add('b'), del('a'), snap],
    actions: [['add', 'a'], ['add', 'b'], ['forget', 'a'], ['reconcile', ['b']]],
  },
  { name: 'a keep of a pod deleted earlier in the snapshot brings it back', messages: [add('a'), del('a'), keep('a'), snap], actions: [['add', 'a'], ['forget', 'a'], ['keep', 'a'], ['reconcile', ['a']]] },
  { name: 'adds after the snapshot do not build a new set', messages: [snap, add('x')], actions: [['reconcile', []], ['add', 'x']] },
  {
    name: 'a keep after the snapshot is a protocol error',
    messages: [snap, keep('a')],
    actions: [['reconcile', []], ['refuse', 'KeepWorkload a after SnapshotSent (keep is only valid in the snapshot)']],
  },
  { name: 'a second SnapshotSent is a protocol error', messages: [snap, snap], actions: [['reconcile', []], ['refuse', 'a second SnapshotSent on this connection']] },
  { name: 'a del of an unknown pod after the snapshot is a plain del (idempotent)', messages: [snap, del('nobody')], actions: [['reconcile', []], ['del', 'nobody']] },
];

for (const s of SEQUENCES) {
  test(`session: ${s.name}`, () => {
    assert.deepEqual(run(s.messages).actions, s.actions);
  });
}

test('session: transitions never mutate the state they are given (a refused step leaves it as it was)', () => {
  const before = run([add('a'), keep('b')]).state;
  const frozen = [...before.snapshot];
  zdsTransition(before, del('a'));
  zdsTransition(before, snap);
  assert.deepEqual([...before.snapshot], frozen);
  assert.equal(before.snapshotSent, false);
  const after = run([snap]).state;
  assert.deepEqual(zdsTransition(after, snap).state, after);
});
