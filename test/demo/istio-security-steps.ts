// The waypoint demo's security scenarios, after Istio's authorization tasks: an ALLOW by principal,
// method and path (authz-http), then JWT (authz-jwt) with keys made at start-up and served inline.

import { decodeJwt } from 'jose';
import type { WaypointConfig } from '../../src/waypoint/index.js';
import { epoch, jwksOf, makeKey, sign } from '../helpers/jwt-keys.js';
import type { CurlResult, WaypointMesh } from '../helpers/waypoint-mesh.js';
import type { WpPodName } from '../helpers/waypoint-manifests.js';
import { expect } from './demo-checks.js';
import { applyEdits } from './manifest-edits.js';
import type { Narrator } from './narration.js';
import { showApplied } from './gateway-api-steps.js';
import { AUTHZ_HTTP, JWT_ISSUER, jwtManifests } from './tutorial-manifests.js';
import { describeSecurity } from './waypoint-state.js';

const AUTHZ_FILE = 'authz.yaml';
const JWT_FILE = 'jwt.yaml';

interface Probe {
  readonly pod?: WpPodName;
  readonly method?: string;
  readonly path: string;
  readonly headers?: readonly string[];
  /** How the narration names the request's credentials, e.g. `$TOKEN`. */
  readonly shown?: string;
  readonly status: number;
  /** Expected body (the waypoint's own answers), checked when given. */
  readonly body?: string;
}

/** One curl per probe; each answer checked; one line per probe: the command and the answer. */
async function probe(wm: WaypointMesh, probes: readonly Probe[]): Promise<string[]> {
  const lines: string[] = [];
  for (const p of probes) {
    const args = [...(p.method ? ['-X', p.method] : []), ...(p.headers ?? []).flatMap((h) => ['-H', h])];
    const r: CurlResult = await wm.curl(wm.url('echo', p.path), args, { pod: p.pod ?? 'c1' });
    const answer = r.status >= 400 ? `${r.status} ${r.body.trim()}` : `${r.status} from ${r.headers['x-version']?.[0] ?? '?'}`;
    const cmd = `${p.pod ?? 'c1'}$ curl${p.method ? ` -X ${p.method}` : ''}${p.shown ? ` ${p.shown}` : ''} http://echo${p.path}`;
    expect(r.status === p.status && (p.body === undefined || r.body.trim() === p.body), `${cmd} → ${p.status}${p.body ? ` ${p.body}` : ''}`, r.error || answer);
    lines.push(cmd, `  → ${answer}`);
  }
  return lines;
}

const policiesAre = (names: string) => (c: WaypointConfig): boolean => (c.security?.authorization ?? []).map((p) => p.name).sort().join() === names;
const showSecurity = (c: WaypointConfig | undefined): string => describeSecurity(c).join('; ') || '(no policies)';

export async function authorization(n: Narrator, wm: WaypointMesh): Promise<void> {
  const a = await applyEdits(wm, [{ file: AUTHZ_FILE, yaml: AUTHZ_HTTP }], policiesAre('echo-viewer'), showSecurity);
  const from = wm.mark();
  const lines = await probe(wm, [
    { path: '/api/info', status: 200 },
    { method: 'POST', path: '/api/info', status: 403, body: 'RBAC: access denied' },
    { path: '/admin', status: 403, body: 'RBAC: access denied' },
    { pod: 'c2', path: '/api/info', status: 403, body: 'RBAC: access denied' },
  ]);
  const reached = wm.seenSince(from).filter((s) => s.pod === 's1');
  expect(reached.length === 1 && reached[0]!.method === 'GET', 'only the allowed request to reach the backend', reached.map((s) => `${s.method} ${s.url}`).join(', ') || 'none');
  showApplied(n, a, [
    'c1 runs as sa client, c2 as sa other (their mTLS identities)',
    ...lines,
    '',
    'denied requests never reached a pod: the waypoint',
    'answered them itself',
  ], describeSecurity(a.config));
}

export async function jwt(n: Narrator, wm: WaypointMesh): Promise<void> {
  const key = await makeKey('ES256', 'demo');
  const stranger = await makeKey('ES256', 'demo');
  const claims = { iss: JWT_ISSUER, sub: JWT_ISSUER, exp: epoch(new Date()) + 3600 };
  const token = await sign(key, claims);
  const groupsToken = await sign(key, { ...claims, groups: ['group1', 'group2'] });
  const forged = await sign(stranger, claims);
  const bearer = (t: string): string[] => [`Authorization: Bearer ${t}`];
  n.say(`keys made now (jose, ES256, kid "demo"); TOKEN carries ${JSON.stringify(decodeJwt(token))}`);
  n.say('GROUPS_TOKEN adds "groups":["group1","group2"]; FORGED has the same claims signed by another key');

  const a = await applyEdits(
    wm,
    [{ file: AUTHZ_FILE, yaml: undefined }, { file: JWT_FILE, yaml: jwtManifests(jwksOf(key)) }],
    (c) => policiesAre('require-jwt')(c) && (c.security?.jwtRules ?? []).some((r) => r.issuer === JWT_ISSUER),
    showSecurity,
  );
  const lines = await probe(wm, [
    { path: '/headers', status: 403, body: 'RBAC: access denied' },
    { path: '/headers', headers: bearer('deadbeef'), shown: '-H "Authorization: Bearer deadbeef"', status: 401 },
    { path: '/headers', headers: bearer(forged), shown: '-H "Authorization: Bearer $FORGED"', status: 401, body: 'Jwt verification fails' },
    { path: '/headers', headers: bearer(token), shown: '-H "Authorization: Bearer $TOKEN"', status: 200 },
  ]);
  showApplied(n, a, ['no token: no request principal, so the ALLOW fails', ...lines], describeSecurity(a.config));

  const withGroups = jwtManifests(jwksOf(key), 'group1');
  const b = await applyEdits(
    wm,
    [{ file: JWT_FILE, yaml: withGroups }],
    (c) => (c.security?.authorization ?? []).some((p) => p.name === 'require-jwt' && (p.rules[0]?.when ?? []).length > 0),
    showSecurity,
  );
  const lines2 = await probe(wm, [
    { path: '/headers', headers: bearer(token), shown: '-H "Authorization: Bearer $TOKEN"', status: 403, body: 'RBAC: access denied' },
    { path: '/headers', headers: bearer(groupsToken), shown: '-H "Authorization: Bearer $GROUPS_TOKEN"', status: 200 },
  ]);
  showApplied(n, b, ['the policy now also wants claim groups ∋ group1', ...lines2], describeSecurity(b.config));
}
