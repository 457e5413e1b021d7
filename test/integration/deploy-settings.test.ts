// deploy/'s containers against the programs they run: every variable and flag set is a setting of
// that command (its settings table), the real loaders accept them, ports of probes, annotations and
// Services are the ones the processes listen on, and the pieces agree with each other (addresses,
// certificate names, trusted accounts, token audience, CA files, drain deadlines within grace).

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, posix } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { ISTIO_CA_AUDIENCES } from '../../src/controlplane/index.js';
import { PLUGIN_CA_FILES } from '../../src/identity/index.js';
import {
  COMMAND_ENV_PREFIXES,
  COMMAND_SETTINGS,
  KUSTOMIZATIONS,
  commandOf,
  containerEnv,
  containerOf,
  find,
  ident,
  loadCommandConfig,
  podMetaOf,
  podSpecOf,
  readmeInstallSection,
  renderDeploy,
  workloadsOf,
  type Manifest,
} from '../helpers/deploy-manifests.js';

/**
 * Variables the manifests set for settings that are being added in parallel work, with the reason.
 * An entry may stay once the setting exists (the table check then passes on its own); remove it then.
 */
const PENDING_SETTINGS: Readonly<Record<string, string>> = {};

let rendered: Record<string, Manifest[]>;

before(async () => {
  rendered = Object.fromEntries(await Promise.all(Object.entries(KUSTOMIZATIONS).map(async ([k, p]) => [k, await renderDeploy(p)] as const)));
});

/** Every workload of every kustomization, once per distinct rendering. */
function allWorkloads(): Array<{ target: string; w: Manifest }> {
  const seen = new Set<string>();
  const out: Array<{ target: string; w: Manifest }> = [];
  for (const [target, objects] of Object.entries(rendered)) {
    for (const w of workloadsOf(objects)) {
      const key = JSON.stringify(w);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ target, w });
    }
  }
  return out;
}

test('every variable and flag a container sets is a setting of the command it runs', () => {
  const unknown: string[] = [];
  for (const { target, w } of allWorkloads()) {
    const c = containerOf(w);
    const { command, flags } = commandOf(c);
    const table = COMMAND_SETTINGS[command];
    const names = new Set(table.flatMap((s) => s.env));
    for (const e of c.env ?? []) {
      if (names.has(e.name) || COMMAND_ENV_PREFIXES[command].some((p) => e.name.startsWith(p))) continue;
      if (e.name in PENDING_SETTINGS) continue;
      unknown.push(`${target}: ${ident(w)}: ${e.name} is not a setting of ambit ${command}`);
    }
    for (const f of flags) {
      const name = /^--([^=]+)/.exec(f)?.[1];
      if (name !== undefined && !table.some((s) => s.flag === name)) unknown.push(`${target}: ${ident(w)}: --${name} is not a flag of ambit ${command}`);
    }
  }
  assert.deepEqual(unknown, []);
  for (const [name, why] of Object.entries(PENDING_SETTINGS)) {
    const users = allWorkloads().filter(({ w }) => (containerOf(w).env ?? []).some((e) => e.name === name));
    assert.ok(users.length > 0, `${name} is pending (${why}) but no manifest sets it any more: drop it from PENDING_SETTINGS`);
  }
});

test('each container’s settings load with its command’s own loader (values valid, no conflicts)', () => {
  for (const { target, w } of allWorkloads()) {
    assert.doesNotThrow(() => loadCommandConfig(w, 'bookinfo'), `${target}: ${ident(w)}`);
  }
  // The check can fail: a value the loader refuses is reported with its variable.
  const ds = structuredClone(find(rendered['base']!, 'DaemonSet', 'ambit-node')) as Manifest;
  containerOf(ds).env!.find((e) => e.name === 'CONNECTION_TERMINATION_DEADLINE')!.value = '25 seconds';
  assert.throws(() => loadCommandConfig(ds), /CONNECTION_TERMINATION_DEADLINE/);
});

/** The ports a loaded command listens on, by role. */
function listening(w: Manifest): { readiness: number; readinessPath: string; metrics: number; metricsPath: string; all: Set<number> } {
  const loaded = loadCommandConfig(w, 'bookinfo');
  if (loaded.control) {
    const p = loaded.control.ports;
    return { readiness: p.monitoring, readinessPath: '/ready', metrics: p.monitoring, metricsPath: '/metrics', all: new Set([p.xds, p.xdsTls, p.monitoring]) };
  }
  const c = loaded.node ?? loaded.waypoint!;
  const p = c.ports as { hbone: number; stats: number; readiness: number; admin: number };
  return { readiness: p.readiness, readinessPath: '/healthz/ready', metrics: p.stats, metricsPath: '/stats/prometheus', all: new Set([p.hbone, p.stats, p.readiness]) };
}

test('probes, Prometheus annotations and container ports are the ports the processes listen on', () => {
  for (const { target, w } of allWorkloads()) {
    const c = containerOf(w);
    const l = listening(w);
    const at = `${target}: ${ident(w)}`;
    assert.equal(c.readinessProbe?.httpGet?.port, l.readiness, `${at}: readiness probe port`);
    assert.equal(c.readinessProbe?.httpGet?.path, l.readinessPath, `${at}: readiness probe path`);
    assert.equal(c.livenessProbe, undefined, `${at}: no liveness probe (a busy proxy must not be killed)`);
    const { annotations } = podMetaOf(w);
    assert.equal(annotations['prometheus.io/scrape'], 'true', at);
    assert.equal(annotations['prometheus.io/port'], String(l.metrics), `${at}: prometheus.io/port`);
    assert.equal(annotations['prometheus.io/path'], l.metricsPath, `${at}: prometheus.io/path`);
    for (const p of c.ports ?? []) {
      assert.ok(l.all.has(p.containerPort), `${at}: containerPort ${p.containerPort} (${p.name}) is not a port the process listens on`);
      assert.ok(p.name, `${at}: containerPort ${p.containerPort} is named`);
    }
  }
});

/** Service port → the container port it reaches, checked to be declared on the selected pods. */
function serviceTargets(objects: readonly Manifest[], service: Manifest, workload: Manifest): Map<number, number> {
  const spec = (service as unknown as { spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort?: number | string }> } }).spec;
  const { labels } = podMetaOf(workload);
  for (const [k, v] of Object.entries(spec.selector)) assert.equal(labels[k], v, `${ident(service)} selects ${ident(workload)} (${k})`);
  assert.ok(objects.includes(service));
  const declared = containerOf(workload).ports ?? [];
  const out = new Map<number, number>();
  for (const p of spec.ports) {
    const target = typeof p.targetPort === 'string' ? declared.find((d) => d.name === p.targetPort)?.containerPort : (p.targetPort ?? p.port);
    assert.ok(target !== undefined && declared.some((d) => d.containerPort === target), `${ident(service)} port ${p.port}: its target is a declared container port`);
    out.set(p.port, target);
  }
  return out;
}

test('Services: the control plane’s TLS and monitoring ports (never the plaintext one), the waypoint’s HBONE port', () => {
  const base = rendered['base']!;
  const control = find(base, 'Deployment', 'ambit-control');
  const cfg = loadCommandConfig(control).control!;
  const svc = serviceTargets(base, find(base, 'Service', 'ambit-control'), control);
  assert.deepEqual([...svc.values()].sort(), [cfg.ports.xdsTls, cfg.ports.monitoring].sort());
  assert.ok(![...svc.values()].includes(cfg.ports.xds), 'plaintext xDS (the whole mesh state, unauthenticated) is not exposed');
  const np = find(base, 'NetworkPolicy', 'ambit-control') as unknown as { spec: { podSelector: { matchLabels: Record<string, string> }; ingress: Array<{ ports: Array<{ port: number }> }> } };
  assert.deepEqual(np.spec.podSelector.matchLabels, podMetaOf(control).labels.app ? { app: podMetaOf(control).labels.app } : {});
  assert.deepEqual(np.spec.ingress.flatMap((i) => i.ports.map((p) => p.port)).sort(), [cfg.ports.xdsTls, cfg.ports.monitoring].sort(), 'other pods reach only the TLS and monitoring ports');

  const wp = rendered['waypoint']!;
  const wpDeployment = find(wp, 'Deployment', 'waypoint');
  const wpCfg = loadCommandConfig(wpDeployment, 'bookinfo').waypoint!;
  const wpSvc = serviceTargets(wp, find(wp, 'Service', 'waypoint'), wpDeployment);
  // ambit-control sends waypoint traffic to the Service's hostname on 15008 (HBONE_PORT).
  assert.deepEqual([...wpSvc], [[15008, wpCfg.ports.hbone]]);
});

/** `https://host:port` → the Service it names (`name.namespace.svc[.cluster.local]`) and port. */
function serviceOf(address: string): { name: string; namespace: string; port: number; host: string } {
  const u = new URL(address);
  assert.equal(u.protocol, 'https:', `${address}: TLS only`);
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(u.hostname);
  assert.ok(m, `${address}: a Service's cluster DNS name`);
  return { name: m[1]!, namespace: m[2]!, port: Number(u.port), host: u.hostname };
}

test('agents and waypoints reach the control plane: its Service, TLS port, a name its certificate carries', () => {
  const base = rendered['base']!;
  const control = find(base, 'Deployment', 'ambit-control');
  const cfg = loadCommandConfig(control).control!;
  const svcTargets = serviceTargets(base, find(base, 'Service', 'ambit-control'), control);
  for (const { target, w } of allWorkloads().filter(({ w }) => commandOf(containerOf(w)).command !== 'control')) {
    const env = containerEnv(w, 'bookinfo');
    for (const name of ['XDS_ADDRESS', 'CA_ADDRESS']) {
      assert.ok(env[name], `${target}: ${ident(w)} sets ${name}`);
      const s = serviceOf(env[name]!);
      assert.deepEqual([s.namespace, s.name], ['ambit-system', 'ambit-control'], `${target}: ${ident(w)}: ${name}`);
      assert.equal(svcTargets.get(s.port), cfg.ports.xdsTls, `${target}: ${ident(w)}: ${name} reaches the TLS port`);
      assert.ok(cfg.tlsSans.dns.includes(s.host), `${target}: ${ident(w)}: ${s.host} is in the control plane’s AMBIT_TLS_SANS`);
    }
    assert.equal(env['AMBIT_CA_PROVIDER'], 'istiod', `${ident(w)}: certificates from ambit-control`);
  }
});

/** The volume mounted at the folder holding `file`, and the file's name inside it. */
function volumeFor(w: Manifest, file: string): { volume: IVolume; key: string } {
  const c: IContainer = containerOf(w);
  const mount = (c.volumeMounts ?? []).find((m) => dirname(file) === m.mountPath);
  assert.ok(mount, `${ident(w)}: ${file} lies in a mounted volume`);
  const volume = (podSpecOf(w).volumes ?? []).find((v) => v.name === mount.name)!;
  return { volume, key: posix.basename(file) };
}

test('trust: tokens of audience istio-ca, the mesh root from its ConfigMap, the CA key only in the control plane', () => {
  const base = rendered['base']!;
  const control = find(base, 'Deployment', 'ambit-control');
  const cfg = loadCommandConfig(control).control!;
  const agent = find(base, 'DaemonSet', 'ambit-node');
  assert.ok(cfg.ca.trustedNodeAccounts.includes(`${agent.metadata.namespace}/${podSpecOf(agent).serviceAccountName}`), 'the agents may request their pods’ certificates');
  assert.equal(cfg.ca.provider, 'file');
  const { volume: cacerts } = volumeFor(control, join(cfg.ca.pluginCertsDir, PLUGIN_CA_FILES.caKey));
  assert.equal(cacerts.secret?.secretName, 'cacerts');
  for (const { target, w } of allWorkloads().filter(({ w }) => commandOf(containerOf(w)).command !== 'control')) {
    const env = containerEnv(w, 'bookinfo');
    const loaded = loadCommandConfig(w, 'bookinfo');
    const c = loaded.node ?? loaded.waypoint!;
    assert.equal(c.trustDomain, cfg.trustDomain, `${target}: ${ident(w)}: trust domain`);
    assert.equal(c.clusterId, cfg.clusterId, `${target}: ${ident(w)}: cluster id (the CA checks the clusterid header)`);
    const token = volumeFor(w, env['AUTH_TOKEN']!);
    const sa = token.volume.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken;
    assert.equal(sa?.path, token.key, `${target}: ${ident(w)}: AUTH_TOKEN is a projected service-account token`);
    assert.ok(ISTIO_CA_AUDIENCES.includes(sa!.audience!), `${target}: ${ident(w)}: audience ${sa?.audience} is one ambit-control's TokenReview asks for`);
    for (const name of ['CA_ROOT_CA', 'XDS_ROOT_CA']) {
      const root = volumeFor(w, env[name]!);
      assert.equal(root.key, PLUGIN_CA_FILES.rootCert, `${ident(w)}: ${name}`);
      assert.equal(root.volume.configMap?.name, 'ambit-ca-root-cert', `${target}: ${ident(w)}: ${name} comes from the root's ConfigMap`);
    }
    assert.ok(!(podSpecOf(w).volumes ?? []).some((v) => v.secret), `${target}: ${ident(w)} mounts no Secret (never the CA key)`);
  }
});

test('drain deadlines end within the pods’ termination grace period, with 5 s to spare', () => {
  for (const { target, w } of allWorkloads()) {
    const loaded = loadCommandConfig(w, 'bookinfo');
    const deadlineMs = (loaded.node ?? loaded.control ?? loaded.waypoint!).drainDeadlineMs;
    const graceMs = (podSpecOf(w).terminationGracePeriodSeconds ?? 30) * 1000;
    assert.ok(deadlineMs + 5000 <= graceMs, `${target}: ${ident(w)}: drain ${deadlineMs} ms + 5 s > grace ${graceMs} ms`);
    if (loaded.node) assert.equal(deadlineMs, graceMs - 5000, 'the agent drains as long as it may (ztunnel: grace − 5 s)');
  }
});

test('the README creates exactly the Secret and ConfigMaps the pods mount, with the plug-in CA file names', () => {
  const section = readmeInstallSection();
  const creates = [...section.matchAll(/^kubectl -n (\S+) create (secret generic|configmap) (\S+) (.*)$/gm)].map((m) => ({
    namespace: m[1]!,
    kind: m[2] === 'configmap' ? 'configMap' : 'secret',
    name: m[3]!,
    keys: [...m[4]!.matchAll(/--from-file=(\S+)/g)].map((f) => f[1]!).sort(),
  }));
  const mounted = new Set<string>();
  for (const { w } of allWorkloads()) {
    for (const v of podSpecOf(w).volumes ?? []) {
      const ns = w.metadata.namespace ?? 'bookinfo';
      if (v.secret) mounted.add(`${ns} secret ${v.secret.secretName}`);
      if (v.configMap) mounted.add(`${ns} configMap ${v.configMap.name}`);
    }
  }
  assert.deepEqual(new Set(creates.map((c) => `${c.namespace} ${c.kind} ${c.name}`)), mounted, 'README creates what the pods mount');
  for (const c of creates) {
    const want = c.kind === 'secret' ? Object.values(PLUGIN_CA_FILES).sort() : [PLUGIN_CA_FILES.rootCert];
    assert.deepEqual(c.keys, want, `${c.namespace}/${c.name}`);
  }
});
