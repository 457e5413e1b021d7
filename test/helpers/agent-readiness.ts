// Waiting for an agent run as its own OS process to report ready (GET /healthz/ready = 200), for
// the demo's and the bench's AgentProcess alike: one polling loop, one failure message shape.

import { fileURLToPath } from 'node:url';

/** The agent's CLI in the compiled tree (`node AMBIT_CLI node ...`). */
export const AMBIT_CLI = fileURLToPath(new URL('../../src/bin/ambit.js', import.meta.url));

/** ztunnel's readiness port, the agent's default. */
export const READINESS_PORT = 15021;

export interface ReadinessWait {
  /** Agent name for messages. */
  readonly name: string;
  /** Address its readiness listener is bound to. */
  readonly host: string;
  readonly timeoutMs: number;
  /** Set once the process has exited (polled between attempts). */
  readonly exited: () => boolean;
  /** What the process printed, or its last error line, for failure messages. */
  readonly describe: () => string;
  /** Poll interval, ms (default 100). */
  readonly intervalMs?: number;
}

/**
 * Resolves once /healthz/ready answers 200. Rejects (with the last answer and `describe()`) when the
 * process exits first or after `timeoutMs`; `makeError` builds the rejection (callers keep their
 * own error types).
 */
export async function waitAgentReady(w: ReadinessWait, makeError: (message: string) => Error = (m) => new Error(m)): Promise<void> {
  const url = `http://${w.host}:${READINESS_PORT}/healthz/ready`;
  const deadline = Date.now() + w.timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (w.exited()) throw makeError(`agent ${w.name} exited during start-up: ${w.describe()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      last = `${res.status} ${(await res.text()).trim()}`;
      if (res.status === 200) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, w.intervalMs ?? 100));
  }
  throw makeError(`agent ${w.name} not ready within ${w.timeoutMs} ms (last: ${last}): ${w.describe()}`);
}
