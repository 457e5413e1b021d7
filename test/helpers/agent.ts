// Starts a whole node agent in-process (the composition root in src/bin) on loopback, with its
// log lines captured so tests can wait for access log entries instead of sleeping.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type HostFacts } from '../../src/config/index.js';
import { NodeAgent } from '../../src/bin/node-agent.js';

export interface CapturedLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface LineCapture {
  readonly lines: CapturedLine[];
  readonly stream: { write(s: string): void };
  /**
   * Resolves with the first line (already seen or future) matching the predicate; rejects after
   * `timeoutMs` (default 15 s) so a missing line fails its test instead of hanging the file.
   */
  waitFor(pred: (l: CapturedLine) => boolean, timeoutMs?: number): Promise<CapturedLine>;
}

export function lineCapture(): LineCapture {
  const lines: CapturedLine[] = [];
  const waiters: Array<{ pred: (l: CapturedLine) => boolean; resolve: (l: CapturedLine) => void }> = [];
  return {
    lines,
    stream: {
      write(s: string) {
        for (const part of s.split('\n')) {
          if (!part) continue;
          const line = JSON.parse(part) as CapturedLine;
          lines.push(line);
          for (let i = waiters.length - 1; i >= 0; i--) {
            if (waiters[i]!.pred(line)) waiters.splice(i, 1)[0]!.resolve(line);
          }
        }
      },
    },
    waitFor(pred, timeoutMs = 15_000) {
      const hit = lines.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const waiter = {
          pred,
          resolve: (l: CapturedLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no matching log line within ${timeoutMs} ms (${lines.length} lines seen; predicate: ${pred.toString().slice(0, 200)})`));
        }, timeoutMs);
        timer.unref();
        waiters.push(waiter);
      });
    },
  };
}

/**
 * The CPU budget in-process agents see: `auto` workers (the default) give one event loop on any test
 * machine, as tests reach into the main thread's proxy; tests of worker threads set AMBIT_WORKERS.
 */
export const TEST_HOST: HostFacts = { cpus: 2, cpuSource: '2 CPUs (test budget)' };

export interface TestAgent {
  readonly agent: NodeAgent;
  readonly logs: LineCapture;
  readonly bind: string;
}

export interface AgentSpec {
  readonly nodeName: string;
  readonly bind: string;
  readonly configPath: string;
  /** Shared by agents that must trust each other (builtin CA root lives here). */
  readonly stateDir: string;
  readonly env?: Record<string, string>;
  /** Resolve only once the agent reports ready (default true); false for tests of readiness itself. */
  readonly waitReady?: boolean;
  /** Replaces the agent's own close() on /quitquitquit (tests count shutdown requests). */
  readonly onQuit?: () => void;
  /** The CPU budget `auto` workers see (default TEST_HOST: one event loop). */
  readonly host?: HostFacts;
}

export async function startAgent(spec: AgentSpec): Promise<TestAgent> {
  const logs = lineCapture();
  const config = loadConfig([], {
    NODE_NAME: spec.nodeName,
    LOCAL_XDS_PATH: spec.configPath,
    AMBIT_BIND_ADDRESS: spec.bind,
    AMBIT_ADMIN_BIND_ADDRESS: spec.bind,
    AMBIT_INBOUND_BIND: 'workloads',
    AMBIT_STATE_DIR: spec.stateDir,
    AMBIT_LOG_LEVEL: 'debug',
    CONNECTION_TERMINATION_DEADLINE: '5s',
    ...spec.env,
  }, spec.host ?? TEST_HOST);
  const agent = new NodeAgent({ config, logDestination: logs.stream, onQuit: spec.onQuit });
  await agent.start();
  if (spec.waitReady ?? true) await agent.readiness.whenReady();
  return { agent, logs, bind: spec.bind };
}

export function tempDir(prefix = 'ambit-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeConfig(dir: string, yaml: string, name = 'mesh.yaml'): string {
  const p = join(dir, name);
  writeFileSync(p, yaml);
  return p;
}
