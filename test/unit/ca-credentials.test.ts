// Caller credentials of the control-plane CA: the static token file format, TokenReview answers,
// bearer/clusterid handling in authentication, and the bounded recent-decisions list.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import {
  CaRefusal,
  IssuanceLog,
  authenticateCaller,
  parseTokenFile,
  subjectOfTokenReview,
  type AuthenticationDeps,
  type IssuanceRecord,
  type MeshSigner,
  type RefusalReason,
  type TokenAuthenticator,
  type TokenSubject,
} from '../../src/controlplane/index.js';

const digestOf = async (token: string): Promise<string> => (await import('node:crypto')).createHash('sha256').update(token).digest('hex');

test('token file: string and map forms, pod and node bindings; tokens kept as digests only', async () => {
  const tokens = parseTokenFile(
    `a-secret: default/app
b-secret: { serviceAccount: istio-system/ztunnel, pod: ztunnel-7xk2p }
c-secret: { serviceAccount: istio-system/ztunnel, node: node-1 }
`,
    'tokens.yaml',
  );
  assert.deepEqual([...tokens.values()], [
    { namespace: 'default', serviceAccount: 'app' },
    { namespace: 'istio-system', serviceAccount: 'ztunnel', pod: { name: 'ztunnel-7xk2p' } },
    { namespace: 'istio-system', serviceAccount: 'ztunnel', node: 'node-1' },
  ]);
  assert.ok(![...tokens.keys()].some((k) => k.includes('secret')));
  assert.deepEqual(tokens.get(await digestOf('b-secret'))?.pod, { name: 'ztunnel-7xk2p' });
  assert.equal(parseTokenFile('', 'empty').size, 0);
  assert.equal(parseTokenFile('# nothing yet\n', 'comments').size, 0);
});

const badFiles: Array<[string, string]> = [
  ['tok: [a, b]\n', 'expected "namespace/serviceAccount"'],
  ['tok: default\n', 'is not namespace/serviceAccount'],
  ['tok: default/app/x\n', 'is not namespace/serviceAccount'],
  ['tok: Default/App\n', 'is not namespace/serviceAccount'],
  ['tok: { serviceAccount: default/app, nodeName: a }\n', 'unknown field(s) nodeName'],
  ['tok: { serviceAccount: default/app, node: "Node A" }\n', 'node must be a Kubernetes name'],
  ['"a b": default/app\n', 'without whitespace'],
  ['- default/app\n', 'expected a map'],
  ['tok: [unclosed\n', 'not YAML'],
];
for (const [text, fragment] of badFiles) {
  test(`token file refused: ${JSON.stringify(text.trim())}`, () => {
    assert.throws(
      () => parseTokenFile(text, 'tokens.yaml'),
      (err: unknown) => isMeshError(err, 'CA_CONFIG') && err.message.includes(fragment) && err.message.includes('tokens.yaml') && !/tok:|"a b"/.test(err.message),
    );
  });
}

const SA_USER = {
  username: 'system:serviceaccount:istio-system:ztunnel',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:istio-system', 'system:authenticated'],
  extra: { 'authentication.kubernetes.io/pod-name': ['ztunnel-a'], 'authentication.kubernetes.io/pod-uid': ['u-1'] },
};
const reviewCases: Array<{ name: string; status: Record<string, unknown> | undefined; subject?: TokenSubject }> = [
  {
    name: 'service account token bound to a pod',
    status: { authenticated: true, user: SA_USER, audiences: ['istio-ca'] },
    subject: { namespace: 'istio-system', serviceAccount: 'ztunnel', pod: { name: 'ztunnel-a', uid: 'u-1' } },
  },
  {
    name: 'no pod extra (legacy token)',
    status: { authenticated: true, user: { ...SA_USER, extra: undefined }, audiences: ['istio-ca'] },
    subject: { namespace: 'istio-system', serviceAccount: 'ztunnel' },
  },
  { name: 'no status', status: undefined },
  { name: 'not authenticated', status: { authenticated: false, user: SA_USER, audiences: ['istio-ca'] } },
  { name: 'error set', status: { authenticated: true, error: 'token expired', user: SA_USER, audiences: ['istio-ca'] } },
  { name: 'audiences not echoed (audience-unaware API server)', status: { authenticated: true, user: SA_USER } },
  { name: 'other audience', status: { authenticated: true, user: SA_USER, audiences: ['https://kubernetes.default.svc'] } },
  { name: 'not a service account', status: { authenticated: true, user: { ...SA_USER, groups: ['system:authenticated'] }, audiences: ['istio-ca'] } },
  { name: 'malformed username', status: { authenticated: true, user: { ...SA_USER, username: 'system:serviceaccount:ztunnel' }, audiences: ['istio-ca'] } },
  { name: 'user, not service account, username', status: { authenticated: true, user: { ...SA_USER, username: 'alice:x:y:z' }, audiences: ['istio-ca'] } },
];
for (const c of reviewCases) {
  test(`TokenReview answer: ${c.name}`, () => {
    assert.deepEqual(subjectOfTokenReview({ spec: { token: 't' }, ...(c.status ? { status: c.status } : {}) }, ['istio-ca']), c.subject);
  });
}

/** Only the bearer/clusterid paths: no client certificate, so the signer is never consulted. */
function deps(tokens?: TokenAuthenticator): AuthenticationDeps {
  return { trustDomain: 'cluster.local', clusterId: 'Kubernetes', signer: {} as MeshSigner, tokens, nowMs: Date.now() };
}
const TOKENS: TokenAuthenticator = {
  name: 'test tokens',
  authenticate: async (t) => (t === 'good' ? { namespace: 'default', serviceAccount: 'app' } : t === 'broken' ? Promise.reject(new Error('apiserver down')) : undefined),
};

const authCases: Array<{ name: string; authorization: string[]; clusterId?: string[]; tokens?: TokenAuthenticator | null; caller?: string; refused?: RefusalReason }> = [
  { name: 'bearer token', authorization: ['Bearer good'], caller: 'spiffe://cluster.local/ns/default/sa/app' },
  { name: 'clusterid matches', authorization: ['Bearer good'], clusterId: ['Kubernetes'], caller: 'spiffe://cluster.local/ns/default/sa/app' },
  { name: 'clusterid of another cluster', authorization: ['Bearer good'], clusterId: ['east'], refused: 'cluster_id' },
  { name: 'clusterid repeated', authorization: ['Bearer good'], clusterId: ['Kubernetes', 'Kubernetes'], refused: 'cluster_id' },
  { name: 'no credential', authorization: [], refused: 'unauthenticated' },
  { name: 'two authorization headers', authorization: ['Bearer good', 'Bearer good'], refused: 'unauthenticated' },
  { name: 'not Bearer', authorization: ['Basic Z29vZA=='], refused: 'unauthenticated' },
  { name: 'lower-case bearer', authorization: ['bearer good'], refused: 'unauthenticated' },
  { name: 'empty token', authorization: ['Bearer '], refused: 'unauthenticated' },
  { name: 'unknown token', authorization: ['Bearer bad'], refused: 'unauthenticated' },
  { name: 'authenticator cannot run', authorization: ['Bearer broken'], refused: 'authenticator_unavailable' },
  { name: 'no token authenticator configured', authorization: ['Bearer good'], tokens: null, refused: 'unauthenticated' },
];
for (const c of authCases) {
  test(`authenticateCaller: ${c.name}`, async () => {
    const p = authenticateCaller({ authorization: c.authorization, clusterId: c.clusterId ?? [], peer: '127.0.0.1:1' }, deps(c.tokens === null ? undefined : TOKENS));
    if (c.caller) assert.equal((await p).identity, c.caller);
    else await assert.rejects(p, (err: unknown) => err instanceof CaRefusal && err.reason === c.refused);
  });
}

test('recent decisions: bounded, newest first', () => {
  const log = new IssuanceLog(3);
  const rec = (n: number): IssuanceRecord => ({ time: String(n), outcome: 'issued', peer: 'p', impersonated: false });
  assert.deepEqual(log.list(), []);
  log.add(rec(1));
  log.add(rec(2));
  assert.deepEqual(log.list().map((r) => r.time), ['2', '1']);
  for (const n of [3, 4, 5]) log.add(rec(n));
  assert.deepEqual(log.list().map((r) => r.time), ['5', '4', '3']);
});
