// VirtualService http rule actions and filters → the model: weighted destinations (hosts, ports,
// subsets → workload uids, invalid ones answering 500), redirect, directResponse, rewrite per
// match kind, header operations, mirrors, timeout, retries, fault; invalid parts reported with the
// field path, the rule dropped or the part left out, the rest translated.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/k8s/index.js';
import type { Route } from '../../src/waypoint/model/route-model.js';
import { pod } from '../helpers/k8s-objects.js';
import { clusterOf, destinationRule, meshWithWaypoint, svc, translateWp, virtualService } from '../helpers/waypoint-objects.js';

const HOST = 'reviews.default.svc.cluster.local';
const C = (subset = '', port = 80, host = HOST): string => `outbound|${port}|${subset}|${host}`;

const objects = (): KubeObject[] => [
  svc('reviews', { selector: { app: 'reviews' } }),
  svc('ratings', { selector: { app: 'ratings' }, ports: [{ name: 'http', port: 9080 }] }),
  svc('multi', { selector: { app: 'multi' }, ports: [{ name: 'http', port: 80 }, { name: 'http-alt', port: 81 }] }),
  pod('reviews-v1', { labels: { app: 'reviews', version: 'v1' }, ip: '10.0.0.1' }),
  pod('reviews-v2', { labels: { app: 'reviews', version: 'v2' }, ip: '10.0.0.2' }),
  pod('reviews-v2b', { labels: { app: 'reviews', version: 'v2', track: 'b' }, ip: '10.0.0.3' }),
  destinationRule('reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }, { name: 'none', labels: { version: 'v9' } }] }),
];

/** Routes of reviews:80 for one http rule, the translation and its problems. */
function rule(r: Record<string, unknown>, ...extra: KubeObject[]) {
  const t = translateWp(meshWithWaypoint(...objects(), ...extra, virtualService('vs', { hosts: ['reviews'], http: [r] })));
  return { t, routes: t.routes('reviews'), route: t.routes('reviews')[0], problems: t.problems };
}

test('destinations: a lone one takes 100 %, several are relative, weight 0 left out; hosts, ports and subsets resolve', () => {
  const lone = rule({ route: [{ destination: { host: 'reviews' }, weight: 7 }] }).route!;
  assert.deepEqual(lone.action, { kind: 'forward', backends: [{ cluster: C(), weight: 100 }] });
  const { route, t, problems } = rule({
    route: [
      { destination: { host: 'reviews', subset: 'v1' }, weight: 60 },
      { destination: { host: 'reviews.default.svc.cluster.local', subset: 'v2' }, weight: 30 },
      { destination: { host: 'ratings' }, weight: 10 }, // its only port: 9080
      { destination: { host: 'multi', port: { number: 81 } }, weight: 0 }, // left out
    ],
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(route!.action, { kind: 'forward', backends: [
    { cluster: C('v1'), weight: 60 }, { cluster: C('v2'), weight: 30 }, { cluster: C('', 9080, 'ratings.default.svc.cluster.local'), weight: 10 },
  ] });
  assert.deepEqual(clusterOf(t, C('v1')).workloadUids, ['c1//Pod/default/reviews-v1']);
  assert.deepEqual(clusterOf(t, C('v2')).workloadUids, ['c1//Pod/default/reviews-v2', 'c1//Pod/default/reviews-v2b']);
  assert.equal(clusterOf(t, C('v2')).subset, 'v2');
  // A subset whose labels no pod carries: a cluster without endpoints (503 at the waypoint).
  const none = rule({ route: [{ destination: { host: 'reviews', subset: 'none' } }] });
  assert.deepEqual(clusterOf(none.t, C('none')).workloadUids, []);
  // No port and several ports: the port being served.
  const multi = rule({ route: [{ destination: { host: 'multi' } }] });
  assert.deepEqual(multi.route!.action, { kind: 'forward', backends: [{ cluster: C('', 80, 'multi.default.svc.cluster.local'), weight: 100 }] });
});

test('invalid destinations keep their share as 500 with a problem naming the field', () => {
  const { route, problems } = rule({
    route: [
      { destination: { host: 'reviews', subset: 'v3' }, weight: 25 },
      { destination: { host: 'nowhere' }, weight: 25 },
      { destination: { host: 'ratings', port: { number: 1 } }, weight: 25 },
      { destination: { host: 'reviews', subset: 'v1' }, weight: 25 },
    ],
  });
  assert.deepEqual(route!.action, { kind: 'forward', backends: [
    { weight: 25, invalidReason: 'SubsetNotFound', invalidStatus: 500 },
    { weight: 25, invalidReason: 'BackendNotFound', invalidStatus: 500 },
    { weight: 25, invalidReason: 'BackendNotFound', invalidStatus: 500 },
    { cluster: C('v1'), weight: 25 },
  ] });
  assert.deepEqual(problems, [
    `error VirtualService/default/vs spec.http[0].route[0].destination.subset: SubsetNotFound: subset "v3" is not defined by a DestinationRule for host ${HOST} visible to this waypoint; its share is answered 500`,
    'error VirtualService/default/vs spec.http[0].route[1].destination.host: BackendNotFound: destination host nowhere.default.svc.cluster.local is not a Service of this cluster (ServiceEntry and external hosts are not supported); its share is answered 500',
    'error VirtualService/default/vs spec.http[0].route[2].destination.port.number: BackendNotFound: destination ratings.default.svc.cluster.local has no port 1; its share is answered 500',
  ]);
  const zero = rule({ route: [{ destination: { host: 'reviews' } }, { destination: { host: 'ratings' } }] });
  assert.deepEqual(zero.routes, []);
  assert.deepEqual(zero.problems, ['error VirtualService/default/vs spec.http[0].route: total destination weight = 0 (set weights when there are several destinations); rule dropped']);
});

test('redirect, directResponse and rewrite compile as istiod maps them to Envoy', () => {
  const rows: [string, Record<string, unknown>, Partial<Route>][] = [
    ['redirect defaults to 301', { redirect: { uri: '/new' } }, { action: { kind: 'redirect', redirect: { statusCode: 301, path: { type: 'ReplaceFullPath', value: '/new' } } } }],
    ['redirect every field', { redirect: { authority: 'x.example', scheme: 'https', port: 8443, redirectCode: 308 } },
      { action: { kind: 'redirect', redirect: { statusCode: 308, scheme: 'https', hostname: 'x.example', port: 8443 } } }],
    ['redirect derivePort FROM_PROTOCOL_DEFAULT', { redirect: { scheme: 'https', derivePort: 'FROM_PROTOCOL_DEFAULT' } },
      { action: { kind: 'redirect', redirect: { statusCode: 301, scheme: 'https', port: 443 } } }],
    ['redirect derivePort FROM_REQUEST_PORT: the port served', { redirect: { scheme: 'https', derivePort: 'FROM_REQUEST_PORT' } },
      { action: { kind: 'redirect', redirect: { statusCode: 301, scheme: 'https', port: 80 } } }],
    ['directResponse string', { directResponse: { status: 418, body: { string: 'teapot' } } }, { action: { kind: 'direct', status: 418, body: 'teapot' } }],
    ['directResponse bytes (base64)', { directResponse: { status: 200, body: { bytes: Buffer.from('hi').toString('base64') } } }, { action: { kind: 'direct', status: 200, body: 'hi' } }],
    ['rewrite uri after a prefix match: Envoy prefix_rewrite', { match: [{ uri: { prefix: '/old' } }], rewrite: { uri: '/new' }, route: [{ destination: { host: 'reviews' } }] },
      { rewrite: { path: { type: 'PrefixRewrite', prefix: '/old', value: '/new' } } }],
    ['rewrite uri after an ignoreUriCase prefix', { match: [{ uri: { prefix: '/Old' }, ignoreUriCase: true }], rewrite: { uri: '/n' }, route: [{ destination: { host: 'reviews' } }] },
      { rewrite: { path: { type: 'PrefixRewrite', prefix: '/Old', value: '/n', ignoreCase: true } } }],
    ['rewrite uri after an exact match replaces the path', { match: [{ uri: { exact: '/a' } }], rewrite: { uri: '/b' }, route: [{ destination: { host: 'reviews' } }] },
      { rewrite: { path: { type: 'ReplaceFullPath', value: '/b' } } }],
    ['rewrite uri without uri match replaces the leading /', { rewrite: { uri: '/v2' }, route: [{ destination: { host: 'reviews' } }] },
      { rewrite: { path: { type: 'PrefixRewrite', prefix: '/', value: '/v2' } } }],
    ['uriRegexRewrite and authority', { rewrite: { uriRegexRewrite: { match: '^/svc/([^/]+)', rewrite: '/\\1' }, authority: 'r.example' }, route: [{ destination: { host: 'reviews' } }] },
      { rewrite: { hostname: 'r.example', path: { type: 'RegexRewrite', pattern: '^/svc/([^/]+)', substitution: '/\\1' } } }],
    ['headers: set/add/remove, remove before add as Envoy, :authority as a host rewrite', {
      headers: { request: { set: { 'X-A': '1', ':authority': 'h.example' }, add: { 'x-b': '2', 'x-c': '3' }, remove: ['x-c', 'x-d'] }, response: { set: { 'x-r': 'v' } } },
      route: [{ destination: { host: 'reviews' } }],
    }, {
      requestHeaders: { set: [{ name: 'x-a', value: '1' }, { name: 'x-c', value: '3' }], add: [{ name: 'x-b', value: '2' }], remove: ['x-d'] },
      responseHeaders: { set: [{ name: 'x-r', value: 'v' }] },
      rewrite: { hostname: 'h.example' },
    }],
    ['per-destination headers', { route: [{ destination: { host: 'reviews' }, headers: { request: { add: { 'x-v': 'r' } }, response: { remove: ['server'] } } }] },
      { action: { kind: 'forward', backends: [{ cluster: C(), weight: 100, requestHeaders: { add: [{ name: 'x-v', value: 'r' }] }, responseHeaders: { remove: ['server'] } }] } }],
  ];
  for (const [what, r, expected] of rows) {
    const { route, problems } = rule(r);
    assert.deepEqual(problems, [], what);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(route![k as keyof Route], v, what);
  }
});

test('mirrors, timeout, retries and fault', () => {
  const { route, problems, t } = rule({
    route: [{ destination: { host: 'reviews' } }],
    mirror: { host: 'reviews', subset: 'v2' },
    mirrorPercentage: { value: 12.5 },
    mirrors: [{ destination: { host: 'ratings' } }, { destination: { host: 'nowhere' }, percentage: { value: 5 } }],
    timeout: '1.5s',
    retries: { attempts: 3, perTryTimeout: '500ms', retryOn: 'gateway-error,connect-failure,503', backoff: '100ms', retryRemoteLocalities: true },
    fault: { delay: { fixedDelay: '2s', percentage: { value: 50 } }, abort: { grpcStatus: 'UNAVAILABLE', percentage: { value: 1.5 } } },
  });
  assert.deepEqual(route!.mirrors, [{ cluster: C('v2'), percent: 12.5 }, { cluster: C('', 9080, 'ratings.default.svc.cluster.local'), percent: 100 }]);
  assert.ok(t.config.clusters.some((c) => c.name === C('v2')));
  assert.deepEqual(route!.timeouts, { requestMs: 1500 });
  assert.deepEqual(route!.retry, { attempts: 3, codes: [503], retryOn: ['gateway-error', 'connect-failure', 'retriable-status-codes'], backoffMs: 100, perTryTimeoutMs: 500 });
  assert.deepEqual(route!.fault, { delay: { ms: 2000, percent: 50 }, abort: { grpcStatus: 14, percent: 1.5 } });
  assert.deepEqual(problems, [
    "warning VirtualService/default/vs spec.http[0].retries.retryRemoteLocalities: not supported by Ambit's waypoint (retries may go to any locality); ignored",
    'error VirtualService/default/vs spec.http[0].mirrors[1].destination.host: BackendNotFound: destination host nowhere.default.svc.cluster.local is not a Service of this cluster (ServiceEntry and external hosts are not supported); mirror not configured',
  ]);
  const rows: [string, Record<string, unknown>, Partial<Route>, string[]][] = [
    ['retries without retryOn: Istio default conditions', { retries: { attempts: 2 } },
      { retry: { attempts: 2, codes: [], retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'], backoffMs: 25 } }, []],
    ['attempts 0 disables retries', { retries: { attempts: 0 } }, { retry: { attempts: 0, codes: [], retryOn: [], backoffMs: 25 } }, []],
    ['timeout 0s: no timeout', { timeout: '0s' }, { timeouts: undefined }, []],
    ['fault without percentage injects nothing', { fault: { abort: { httpStatus: 503 } } }, { fault: { abort: { httpStatus: 503, percent: 0 } } },
      ['warning VirtualService/default/vs spec.http[0].fault.abort.percentage: no percentage: nothing is injected (Istio API: set percentage.value)']],
    ['deprecated integer percent', { fault: { delay: { fixedDelay: '1s', percent: 20 } } }, { fault: { delay: { ms: 1000, percent: 20 } } }, []],
    ['retryOn conditions not acted on yet are kept and reported', { retries: { attempts: 1, retryOn: 'retriable-4xx,5xx' } },
      { retry: { attempts: 1, codes: [], retryOn: ['retriable-4xx', '5xx'], backoffMs: 25 } },
      ["warning VirtualService/default/vs spec.http[0].retries.retryOn: retriable-4xx: not acted on by Ambit's waypoint yet; the other conditions apply"]],
  ];
  for (const [what, extra, expected, probs] of rows) {
    const r = rule({ route: [{ destination: { host: 'reviews' } }], ...extra });
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(r.route![k as keyof Route], v, what);
    assert.deepEqual(r.problems, probs, what);
  }
});

test('an invalid rule is dropped with its field path; the VirtualService\'s other rules still serve', () => {
  const D = [{ destination: { host: 'reviews' } }];
  const rows: [Record<string, unknown>, string][] = [
    [{}, 'spec.http[1].route: one of route, redirect or directResponse is required; rule dropped'],
    [{ route: D, redirect: { uri: '/x' } }, 'spec.http[1].redirect: route and redirect cannot be used together; rule dropped'],
    [{ redirect: {} }, 'spec.http[1].redirect: redirect must specify uri, authority, scheme, or port; rule dropped'],
    [{ redirect: { uri: '/x', redirectCode: 305 } }, 'spec.http[1].redirect.redirectCode: redirect code 305 is not 301, 302, 303, 307 or 308; rule dropped'],
    [{ redirect: { uri: '/x' }, rewrite: { uri: '/y' } }, 'spec.http[1].rewrite: rewrite cannot be used with redirect; rule dropped'],
    [{ directResponse: { status: 99 } }, 'spec.http[1].directResponse.status: HTTP status 99 is not in range 200-599; rule dropped'],
    [{ delegate: { name: 'd' } }, 'spec.http[1].delegate: delegate VirtualServices are not supported at a waypoint; rule dropped'],
    [{ route: D, rewrite: { uri: '/a', uriRegexRewrite: { match: 'a', rewrite: 'b' } } }, 'spec.http[1].rewrite: rewrite may only contain one of uri or uriRegexRewrite; rule dropped'],
    [{ route: D, rewrite: { uriRegexRewrite: { match: '(a', rewrite: 'b' } } }, 'spec.http[1].rewrite.uriRegexRewrite.match: invalid regular expression'],
    [{ route: D, timeout: 'soon' }, 'spec.http[1].timeout: "soon" is not a duration (e.g. 10s, 1.5s, 250ms); rule dropped'],
    [{ route: D, retries: { attempts: 2, retryOn: 'sometimes' } }, 'spec.http[1].retries.retryOn: "sometimes" is not a valid retryOn policy; rule dropped'],
    [{ route: D, retries: { attempts: 2, perTryTimeout: '1x' } }, 'spec.http[1].retries.perTryTimeout: "1x" is not a duration; rule dropped'],
    [{ route: D, fault: {} }, 'spec.http[1].fault: HTTP fault injection must have an abort and/or a delay; rule dropped'],
    [{ route: D, fault: { abort: { grpcStatus: 'NOPE', percentage: { value: 1 } } } }, 'spec.http[1].fault.abort.grpcStatus: gRPC status "NOPE" is not a status name such as NOT_FOUND or UNAVAILABLE; rule dropped'],
    [{ route: D, fault: { delay: { exponentialDelay: '1s' } } }, 'spec.http[1].fault.delay.exponentialDelay: exponentialDelay is not supported (Istio); rule dropped'],
  ];
  for (const [bad, problem] of rows) {
    const t = translateWp(meshWithWaypoint(...objects(), virtualService('vs', { hosts: ['reviews'], http: [{ match: [{ uri: { exact: '/good' } }], route: D }, bad] })));
    assert.deepEqual(t.routes('reviews').map((r) => r.name), ['default/vs.r0.m0'], problem);
    assert.equal(t.problems.length, 1, `${problem}: ${JSON.stringify(t.problems)}`);
    assert.ok(t.problems[0]!.startsWith(`error VirtualService/default/vs ${problem}`), `${t.problems[0]} should start with ${problem}`);
  }
});
