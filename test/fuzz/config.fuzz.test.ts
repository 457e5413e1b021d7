// Fuzz: the config parsers. parseLocalConfig (ztunnel's LOCAL_XDS_PATH YAML) on schema-shaped
// documents, their mutated YAML text and YAML-ish noise; loadConfig(argv, env) on random settings.
// Property: each returns a value or throws MeshError CONFIG_INVALID whose message names the file
// (local config) or the variable/flag at fault (settings); nothing else is thrown, nothing hangs.
// A local config that parses is also applied to a ProxyState, as LocalConfigSource does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { isMeshError } from '../../src/common/errors.js';
import { loadConfig, SETTINGS } from '../../src/config/index.js';
import { ProxyState } from '../../src/state/index.js';
import { EMBEDDED_EXAMPLE_YAML, parseLocalConfig } from '../../src/xds/index.js';
import { fuzz } from '../helpers/fuzz.js';

const SOURCE = '/etc/ambit/fuzz-mesh.yaml';
/** A synchronous parse that takes this long is as good as a hang. */
const MAX_CASE_MS = 2_000;

function checkLocalConfig(text: string): void {
  const started = performance.now();
  try {
    const { snapshot } = parseLocalConfig(text, SOURCE);
    assert.ok(Object.isFrozen(snapshot), 'the snapshot is frozen');
    new ProxyState().apply(snapshot);
  } catch (err) {
    assert.ok(isMeshError(err, 'CONFIG_INVALID'), `only CONFIG_INVALID may escape, got ${(err as Error)?.stack ?? String(err)}`);
    assert.ok(err.message.includes(SOURCE), `the message names the file: ${err.message.slice(0, 300)}`);
  }
  const took = performance.now() - started;
  assert.ok(took < MAX_CASE_MS, `parse took ${took.toFixed(0)} ms`);
}

// ---- local config: values of every YAML type where the schema expects one ----

const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.0.0.1', '::1', 'fd00::1', '999.1.1.1', 'nope', ''));
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -2, max: 70_000 }),
  fc.boolean(),
  fc.constant(null),
  fc.double({ noNaN: false }),
  ip,
);
const anyValue = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 3 })),
})).v;
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> => fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: anyValue });
const portMap = fc.dictionary(fc.oneof(fc.integer({ min: 0, max: 70_000 }).map(String), fc.string({ maxLength: 4 })), maybe(fc.integer({ min: 0, max: 70_000 })), { maxKeys: 3 });
const gateway = fc.record({ destination: maybe(fc.constantFrom('/10.0.0.9', 'default/waypoint', 'net/fd00::9', '/', 'x')), hboneMtlsPort: maybe(fc.integer({ min: 0, max: 70_000 })) }, { requiredKeys: [] });
const stringMatch = fc.oneof(
  fc.record({ Exact: maybe(fc.string({ maxLength: 8 })) }),
  fc.record({ Prefix: maybe(fc.string({ maxLength: 8 })) }),
  fc.record({ Presence: maybe(fc.constant([])) }),
  anyValue,
);
const match = fc.record(
  {
    namespaces: fc.array(stringMatch, { maxLength: 2 }),
    principals: fc.array(stringMatch, { maxLength: 2 }),
    sourceIps: fc.array(maybe(fc.constantFrom('10.0.0.0/8', '::/0', '1.2.3.4/33', 'x/1')), { maxLength: 2 }),
    destinationPorts: fc.array(maybe(fc.integer({ min: 0, max: 70_000 })), { maxLength: 2 }),
    serviceAccounts: fc.array(maybe(fc.record({ namespace: fc.string({ maxLength: 4 }), serviceAccount: fc.string({ maxLength: 4 }) })), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const workload = fc.record(
  {
    uid: maybe(fc.string({ maxLength: 10 })),
    name: maybe(fc.constantFrom('a', 'b', 'echo')),
    namespace: maybe(fc.constantFrom('default', 'ns', '')),
    workloadIps: maybe(fc.array(ip, { maxLength: 3 })),
    protocol: maybe(fc.constantFrom('TCP', 'HBONE', 'tcp')),
    node: maybe(fc.constantFrom('local', 'other')),
    serviceAccount: maybe(fc.string({ maxLength: 6 })),
    services: maybe(fc.dictionary(fc.constantFrom('default/echo.default.svc', 'bad', '/x', 'ns/'), portMap, { maxKeys: 2 })),
    waypoint: maybe(gateway),
    networkMode: maybe(fc.constantFrom('Standard', 'HostNetwork')),
    netns: maybe(fc.constantFrom('/var/run/netns/p1', 'relative')),
    capacity: maybe(fc.integer({ min: -1, max: 5 })),
    authorizationPolicies: maybe(fc.array(fc.constantFrom('default/p', 'x'), { maxLength: 2 })),
    locality: maybe(fc.record({ region: fc.string({ maxLength: 3 }), zone: fc.string({ maxLength: 3 }) })),
    unknownKey: anyValue,
  },
  { requiredKeys: [] },
);
const service = fc.record(
  {
    name: maybe(fc.constantFrom('echo', 's')),
    namespace: maybe(fc.constantFrom('default', 'ns')),
    hostname: maybe(fc.constantFrom('echo.default.svc', 'a/b', 's.ns.svc')),
    vips: maybe(fc.array(maybe(fc.constantFrom('/10.96.0.1', 'net/fd00::1', '10.0.0.1', '/x')), { maxLength: 2 })),
    cidrVips: maybe(fc.array(maybe(fc.constantFrom('/10.96.0.0/16', '/1.2.3.4/40', 'x')), { maxLength: 2 })),
    ports: maybe(portMap),
    endpoints: maybe(fc.dictionary(fc.string({ maxLength: 4 }), fc.record({ workloadUid: maybe(fc.string({ maxLength: 4 })), port: maybe(portMap) }, { requiredKeys: [] }), { maxKeys: 2 })),
    loadBalancer: maybe(fc.record({ mode: maybe(fc.constantFrom('Standard', 'Strict', 'x')), routingPreferences: maybe(fc.array(fc.constantFrom('Zone', 'Node', 'x'), { maxLength: 2 })) }, { requiredKeys: [] })),
    weightedWaypoints: maybe(fc.array(fc.record({ destination: gateway, weight: maybe(fc.integer({ min: -1, max: 3 })) }, { requiredKeys: [] }), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const policy = fc.record(
  {
    name: maybe(fc.constantFrom('p', 'q')),
    namespace: maybe(fc.constantFrom('default', 'istio-system')),
    scope: maybe(fc.constantFrom('Global', 'Namespace', 'WorkloadSelector', 'x')),
    action: maybe(fc.constantFrom('Allow', 'Deny', 'x')),
    rules: maybe(fc.array(fc.array(fc.array(maybe(match), { maxLength: 2 }), { maxLength: 2 }), { maxLength: 2 })),
    dryRun: maybe(fc.boolean()),
  },
  { requiredKeys: [] },
);
const document = fc.record(
  {
    workloads: maybe(fc.array(maybe(workload), { maxLength: 3 })),
    services: maybe(fc.array(maybe(service), { maxLength: 2 })),
    policies: maybe(fc.array(maybe(policy), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);

/** Text edits: insert, delete or replace a few characters anywhere (YAML syntax damage). */
const YAML_NOISE = ['\n', ' ', '  ', '-', ':', '[', ']', '{', '}', '&a', '*a', '!!', '|', '>', '#', '"', "'", ',', '\t', '?', '%', '@', '\u0000', '\ufeff', '<<: *a'];
const edit = fc.tuple(fc.nat(), fc.nat({ max: 6 }), fc.constantFrom(...YAML_NOISE));
function applyEdits(text: string, edits: ReadonlyArray<readonly [number, number, string]>): string {
  let t = text;
  for (const [at, del, ins] of edits) {
    const i = t.length === 0 ? 0 : at % (t.length + 1);
    t = t.slice(0, i) + ins + t.slice(i + del);
  }
  return t;
}

test('fuzz: parseLocalConfig on schema-shaped documents (as YAML text, optionally damaged)', async () => {
  await fuzz(
    'local config documents',
    fc.property(document, fc.array(edit, { maxLength: 4 }), (doc, edits) => {
      checkLocalConfig(applyEdits(stringify(doc), edits));
    }),
    700,
  );
});

test('fuzz: parseLocalConfig on the embedded example and YAML-ish noise', async () => {
  const noise = fc.array(fc.oneof(fc.constantFrom(...YAML_NOISE, 'workloads', 'services:', 'policies:', 'uid: x', 'workloadIps: ["10.0.0.1"]'), fc.string({ maxLength: 4 })), { maxLength: 30 }).map((a) => a.join(''));
  await fuzz(
    'local config noise',
    fc.property(fc.oneof(noise, fc.array(edit, { maxLength: 6 }).map((e) => applyEdits(EMBEDDED_EXAMPLE_YAML, e))), (text) => {
      checkLocalConfig(text);
    }),
    500,
  );
});

test('parseLocalConfig: alias bombs and self-references are refused, not expanded', () => {
  const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  for (const text of [`${laughs.join('\n')}\nworkloads: *i\n`, 'workloads: &w [*w]\n', 'workloads:\n- &x {namespace: a, workloadIps: [*x]}\n', '*unknown\n', '&a\n']) {
    checkLocalConfig(text);
  }
});

// ---- loadConfig: every setting by env and by flag, with values of every shape ----

const ENV_NAMES = SETTINGS.flatMap((s) => s.env);
const FLAGS = SETTINGS.map((s) => s.flag);
const settingValue = fc.oneof(
  fc.constantFrom('', 'true', 'false', '0', '1', 'yes', '15008', '65536', '-1', '90s', '1h30m', '5', '0ms', 'json', 'plain', 'shared', 'dedicated',
    'ns/name/sa', 'a//b', '127.0.0.1', '::', 'fd00::1', 'https://istiod:15012', 'http://x', 'istiod.istio-system.svc:15012', '/', '/nonexistent/token',
    'builtin', 'file', 'istiod', 'debug', 'any', 'workloads', 'SYSTEM', 'x'.repeat(300), 'a\nb', '\u0000', '1e3', '0x10'),
  fc.string({ maxLength: 16 }),
);
const envArb = fc.dictionary(
  fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ENV_NAMES) }, { weight: 1, arbitrary: fc.stringMatching(/^CA_HEADER_[A-Za-z0-9_.-]{0,8}$/) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }),
  settingValue,
  { maxKeys: 6 },
);
const argvArb = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom(...FLAGS), settingValue).map(([f, v]) => [`--${f}`, v]),
      fc.tuple(fc.constantFrom(...FLAGS), settingValue).map(([f, v]) => [`--${f}=${v}`]),
      fc.constantFrom(...FLAGS).map((f) => [`--${f}`]),
      fc.constantFrom(['--unknown-flag'], ['positional'], ['-x'], ['--'], ['--=x']),
    ),
    { maxLength: 4 },
  )
  .map((a) => a.flat());

test('fuzz: loadConfig(argv, env) returns a frozen config or one CONFIG_INVALID naming each culprit', async () => {
  await fuzz(
    'loadConfig',
    fc.property(argvArb, envArb, (argv, env) => {
      const started = performance.now();
      try {
        const config = loadConfig(argv, env);
        assert.ok(Object.isFrozen(config) && Object.isFrozen(config.ca) && Object.isFrozen(config.ports));
      } catch (err) {
        assert.ok(isMeshError(err, 'CONFIG_INVALID'), `only CONFIG_INVALID may escape, got ${(err as Error)?.stack ?? String(err)}`);
        const problems = err.message.split('\n').slice(1);
        assert.ok(problems.length > 0, err.message);
        for (const p of problems) {
          // Each problem starts from its origin: an env var, a --flag, or the argument it is about.
          assert.match(p, /^ {2}- (?:[A-Z][A-Z0-9_]*[^\n]*|--[^\s=]*[^\n]*|unexpected argument [^\n]*|unknown flag --[^\n]*|flag --[^\n]*)$/, `problem without a culprit: ${JSON.stringify(p)}`);
          const named =
            [...Object.keys(env), ...argv].some((k) => k !== '' && p.includes(k.split('=')[0]!)) ||
            /^ {2}- unexpected argument "/.test(p) ||
            /PROXY_WORKLOAD_INFO: required/.test(p);
          assert.ok(named, `problem names nothing that was given: ${JSON.stringify(p)} (env ${JSON.stringify(env)}, argv ${JSON.stringify(argv)})`);
        }
      }
      assert.ok(performance.now() - started < MAX_CASE_MS);
    }),
    800,
  );
});
