// Command line of `npm run bench:control`: cluster size, clients, changes, rounds, output; the full
// preset (10,000 pods, 1,000 services, 100 clients) and the quick one (a seconds-long smoke run).

import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { MeshError } from '../../src/common/errors.js';
import { DEFAULT_OUT_DIR } from '../options.js';
import type { ClusterShape } from './synthetic-cluster.js';

export interface ControlBenchSettings {
  readonly quick: boolean;
  readonly rounds: number;
  readonly outDir: string;
  /** Pods, services, namespaces; nodes = clients (one node agent per node). */
  readonly shape: ClusterShape;
  readonly clients: number;
  /** One-object changes timed per round and debounce setting. */
  readonly changes: number;
  /** Changes made through the manifests folder per round (0: no manifests run). */
  readonly manifestsChanges: number;
  /** Full re-translations timed per round after the cold one. */
  readonly warmRuns: number;
  /** Debounce quiet periods run, ms: istiod's default first, then a low one that shows the floor. */
  readonly debounceMs: readonly number[];
  /** Pause after a change reached every client, before the next, ms. */
  readonly gapMs: number;
  /** Extra Node flags for the control plane processes (e.g. --cpu-prof). */
  readonly controlFlags: readonly string[];
}

export const USAGE = `Usage: npm run bench:control [-- options]

Scale run of the control plane (ambit control): a synthetic cluster (pods behind Services with their
EndpointSlices, namespaces, nodes, AuthorizationPolicies, PeerAuthentications, two waypoints), the
real pipeline and delta ADS server in a process of their own, N delta-ADS clients (wildcard Address
and Authorization, every response ACKed). Measures the full translation (cold, warm), the initial
full sync of all clients and its bytes per client, one object change → every client (p50/p99/max,
per debounce setting), and the control plane's RSS; then the same end to end through
\`ambit control --manifests DIR\`. No root needed.

  --quick               1,000 pods / 100 services / 10 clients, 1 round (seconds)
  --rounds N            rounds (default 3; 1 with --quick); figures are medians across rounds
                        with the min–max across rounds beside them
  --pods N --services N --namespaces N --clients N
                        cluster size and clients (default 10000 / 1000 / 50 / 100)
  --changes N           one-object changes per round and debounce setting (default 100)
  --manifests-changes N changes through the manifests folder per round (default 20; 0 skips it)
  --debounce LIST       debounce quiet periods in ms (default 100,1: istiod's default, the floor)
  --out DIR             output directory (default bench/results/)
  --cpu-prof            run the control plane processes with --cpu-prof (profiles in the cwd)
  --help                this text
`;

const FULL = { rounds: 3, pods: 10_000, services: 1_000, namespaces: 50, clients: 100, changes: 100, manifestsChanges: 20, warmRuns: 5 };
const QUICK = { rounds: 1, pods: 1_000, services: 100, namespaces: 10, clients: 10, changes: 12, manifestsChanges: 4, warmRuns: 3 };

function intFlag(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new MeshError('CONFIG_INVALID', `--${name} ${value}: expected an integer ${min}..${max}`);
  return n;
}

/** Parses argv (without node and script); null means --help was asked. */
export function parseControlBenchArgs(argv: readonly string[]): ControlBenchSettings | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        out: { type: 'string' },
        pods: { type: 'string' },
        services: { type: 'string' },
        namespaces: { type: 'string' },
        clients: { type: 'string' },
        changes: { type: 'string' },
        'manifests-changes': { type: 'string' },
        debounce: { type: 'string' },
        'cpu-prof': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new MeshError('CONFIG_INVALID', `${(e as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return null;
  const p = values.quick ? QUICK : FULL;
  const clients = intFlag('clients', values.clients, p.clients, 1, 5_000);
  const debounceMs = (values.debounce ?? '100,1').split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  if (debounceMs.length === 0 || debounceMs.some((d) => !Number.isInteger(d) || d < 1 || d > 10_000)) {
    throw new MeshError('CONFIG_INVALID', `--debounce ${values.debounce}: expected a comma-separated list of integers 1..10000 (ms)`);
  }
  return {
    quick: values.quick,
    rounds: intFlag('rounds', values.rounds, p.rounds, 1, 100),
    outDir: values.out === undefined ? DEFAULT_OUT_DIR : resolve(values.out),
    shape: {
      pods: intFlag('pods', values.pods, p.pods, 10, 1_000_000),
      services: intFlag('services', values.services, p.services, 6, 100_000),
      namespaces: intFlag('namespaces', values.namespaces, p.namespaces, 2, 10_000),
      nodes: clients,
    },
    clients,
    changes: intFlag('changes', values.changes, p.changes, 4, 100_000),
    manifestsChanges: intFlag('manifests-changes', values['manifests-changes'], p.manifestsChanges, 0, 10_000),
    warmRuns: p.warmRuns,
    debounceMs,
    gapMs: 20,
    controlFlags: values['cpu-prof'] ? ['--cpu-prof'] : [],
  };
}
