// deploy/ as kubectl renders it (`kubectl kustomize`, offline: no cluster) and as an API server would
// check it, plus the accessors the deploy tests share: pod templates, containers, env, settings.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import {
  CONTROL_SETTINGS,
  ISTIO_META_ENV_PREFIX,
  ISTIO_METAJSON_ENV_PREFIX,
  SETTINGS,
  WAYPOINT_SETTINGS,
  XDS_HEADER_ENV_PREFIX,
  loadConfig,
  loadControlConfig,
  loadWaypointConfig,
  type SettingSpec,
} from '../../src/config/index.js';
import { CA_HEADER_ENV_PREFIX } from '../../src/config/settings.js';
import { isKind, modelProblems, nameProblems, validateObject, type FieldProblem, type ModelClass } from '../../src/k8s/index.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The kubectl the tests spawn: $KUBECTL, else `kubectl` on PATH (Debian: kubernetes-client; .ci/run installs it). */
export const KUBECTL = process.env['KUBECTL'] || 'kubectl';

/** The kustomizations deploy/ ships, relative to the repository root. */
export const KUSTOMIZATIONS = {
  all: 'deploy',
  base: 'deploy/base',
  istioCni: 'deploy/overlays/istio-cni',
  ownRules: 'deploy/overlays/own-rules',
  waypoint: 'deploy/waypoint',
} as const;

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

/** `kubectl kustomize DIR`: the rendered objects, in kubectl's order. Rejects with kubectl's stderr. */
export function kustomize(dir: string): Promise<Manifest[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, ['kustomize', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) =>
      reject(new Error(`cannot run ${KUBECTL} (${e.message}): the deploy tests need kubectl (Debian: apt-get install kubernetes-client)`)),
    );
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== 0) return reject(new Error(`${KUBECTL} kustomize ${dir} exited ${code}: ${stderr}`));
      const docs = parseAllDocuments(Buffer.concat(out).toString('utf8'));
      const bad = docs.find((d) => d.errors.length > 0);
      if (bad) return reject(new Error(`${KUBECTL} kustomize ${dir}: unparsable output: ${bad.errors[0]!.message}`));
      resolve(docs.map((d) => d.toJSON() as Manifest).filter((m) => m !== null));
    });
  });
}

/** Renders one of deploy/'s kustomizations (a KUSTOMIZATIONS value). */
export function renderDeploy(path: string): Promise<Manifest[]> {
  return kustomize(join(REPO_ROOT, path));
}

/** Schemas of the kinds deploy/ uses that the control plane does not read (those validateObject knows). */
const OTHER_MODELS: Readonly<Record<string, { model: ModelClass; namespaced: boolean }>> = {
  'apps/v1/DaemonSet': { model: DaemonSet, namespaced: true },
  'apps/v1/Deployment': { model: Deployment, namespaced: true },
  'networking.k8s.io/v1/NetworkPolicy': { model: NetworkPolicy, namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: ClusterRole, namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { model: ClusterRoleBinding, namespaced: false },
};

/**
 * What an API server would refuse in `m`: the upstream schema (kubernetes-models, Gateway API and
 * Istio models; the kinds the control plane reads through its own validateObject), name rules,
 * namespace presence. The models check types, required fields and enums, not unknown fields.
 */
export function manifestProblems(m: Manifest): FieldProblem[] {
  if (isKind(m.kind)) {
    const v = validateObject(m);
    return v.ok ? [] : [...v.problems];
  }
  const entry = OTHER_MODELS[`${m.apiVersion}/${m.kind}`];
  if (entry === undefined) return [{ path: 'kind', reason: `no schema known for ${m.apiVersion} ${m.kind}` }];
  const problems = modelProblems(entry.model, m);
  for (const reason of nameProblems(m.metadata.name, 'subdomain')) problems.push({ path: 'metadata.name', reason });
  if (entry.namespaced !== (m.metadata.namespace !== undefined)) {
    problems.push({ path: 'metadata.namespace', reason: entry.namespaced ? 'required for a namespaced kind' : 'not allowed on a cluster-scoped kind' });
  }
  return problems;
}

export function ident(m: Manifest): string {
  return `${m.kind} ${m.metadata.namespace ? `${m.metadata.namespace}/` : ''}${m.metadata.name}`;
}

export function find(objects: readonly Manifest[], kind: string, name: string): Manifest {
  const m = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (m === undefined) throw new Error(`no ${kind} ${name} among ${objects.map(ident).join(', ')}`);
  return m;
}

/** Objects with a pod template (Deployment, DaemonSet). */
export function workloadsOf(objects: readonly Manifest[]): Manifest[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet');
}

interface PodTemplateHolder {
  readonly spec: { readonly template: { readonly metadata?: { readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> }; readonly spec: IPodSpec } };
}

export function podSpecOf(m: Manifest): IPodSpec {
  return (m as unknown as PodTemplateHolder).spec.template.spec;
}

export function podMetaOf(m: Manifest): { labels: Record<string, string>; annotations: Record<string, string> } {
  const meta = (m as unknown as PodTemplateHolder).spec.template.metadata ?? {};
  return { labels: meta.labels ?? {}, annotations: meta.annotations ?? {} };
}

/** The pod's one container (every deploy/ pod has exactly one). */
export function containerOf(m: Manifest): IContainer {
  const cs = podSpecOf(m).containers;
  if (cs.length !== 1) throw new Error(`${ident(m)}: expected one container, got ${cs.length}`);
  return cs[0]!;
}

export type AmbitCommand = 'node' | 'control' | 'waypoint';

export const COMMAND_SETTINGS: Readonly<Record<AmbitCommand, readonly SettingSpec[]>> = {
  node: SETTINGS,
  control: CONTROL_SETTINGS,
  waypoint: WAYPOINT_SETTINGS,
};

/** Families of variables a command reads by prefix (README: "(env only)" rows). */
export const COMMAND_ENV_PREFIXES: Readonly<Record<AmbitCommand, readonly string[]>> = {
  node: [CA_HEADER_ENV_PREFIX, XDS_HEADER_ENV_PREFIX, ISTIO_META_ENV_PREFIX, ISTIO_METAJSON_ENV_PREFIX],
  control: [],
  waypoint: [CA_HEADER_ENV_PREFIX, XDS_HEADER_ENV_PREFIX, ISTIO_META_ENV_PREFIX, ISTIO_METAJSON_ENV_PREFIX],
};

/** `ambit <command> [flags]`: the image's ENTRYPOINT is `ambit`, so args[0] names the command. */
export function commandOf(c: IContainer): { command: AmbitCommand; flags: string[] } {
  if (c.command !== undefined) throw new Error(`container ${c.name}: command overrides the image's ENTRYPOINT (ambit)`);
  const [command, ...flags] = c.args ?? [];
  if (command !== 'node' && command !== 'control' && command !== 'waypoint') throw new Error(`container ${c.name}: args[0] ${String(command)} is no ambit command`);
  return { command, flags };
}

/**
 * The container's environment as the kubelet would give it to the pod: literal values, and the
 * downward API's fields from `pod` (a sample node name, pod IP and pod name; the rest from the
 * manifest itself: namespace, service account, labels).
 */
export function containerEnv(workload: Manifest, namespace = workload.metadata.namespace ?? 'default'): Record<string, string> {
  const spec = podSpecOf(workload);
  const { labels } = podMetaOf(workload);
  const field = (path: string): string => {
    const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
    if (label) return labels[label[1]!] ?? '';
    switch (path) {
      case 'spec.nodeName':
        return 'node-1';
      case 'metadata.name':
        return `${workload.metadata.name}-0`;
      case 'metadata.namespace':
        return namespace;
      case 'status.podIP':
        return '10.244.1.7';
      case 'spec.serviceAccountName':
        return spec.serviceAccountName ?? 'default';
      default:
        throw new Error(`${ident(workload)}: downward API field ${path} is not simulated here`);
    }
  };
  const env: Record<string, string> = {};
  for (const e of containerOf(workload).env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef) env[e.name] = field(e.valueFrom.fieldRef.fieldPath);
    else throw new Error(`${ident(workload)}: env ${e.name} has a source the tests do not simulate`);
  }
  return env;
}

/**
 * The command's configuration from its real loader, as the process in the pod would load it
 * (KUBERNETES_SERVICE_HOST set, as in every pod). Throws CONFIG_INVALID like the process would.
 */
export function loadCommandConfig(workload: Manifest, namespace?: string): {
  command: AmbitCommand;
  node?: ReturnType<typeof loadConfig>;
  control?: ReturnType<typeof loadControlConfig>;
  waypoint?: ReturnType<typeof loadWaypointConfig>;
} {
  const { command, flags } = commandOf(containerOf(workload));
  const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', ...containerEnv(workload, namespace) };
  switch (command) {
    case 'node':
      return { command, node: loadConfig(flags, env, { cpus: 2 }) };
    case 'control':
      return { command, control: loadControlConfig(flags, env) };
    case 'waypoint':
      return { command, waypoint: loadWaypointConfig(flags, env) };
  }
}

/** The README's "Install on Kubernetes" section, up to the next `## ` heading. */
export function readmeInstallSection(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Install on Kubernetes');
  if (start < 0) throw new Error('README.md has no "## Install on Kubernetes" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/**
 * Runs the README's mesh CA recipe (the ```sh block of `openssl` commands) in `dir`, as written,
 * with bash -e: afterwards `dir` holds the plug-in CA files the control plane's `cacerts` gets.
 */
export function runReadmeCaRecipe(dir: string): void {
  const blocks = [...readmeInstallSection().matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const recipe = blocks.find((b) => b.startsWith('openssl '));
  if (recipe === undefined) throw new Error('README install section has no ```sh block of openssl commands');
  const run = spawnSync('bash', ['-e', '-c', recipe], { cwd: dir, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`README CA recipe failed (${run.status}): ${run.stderr}`);
}
