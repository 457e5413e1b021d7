// Every long-lived process the harness starts (agents, stunnel, server apps) is tracked here so that
// an exit, an error or Ctrl-C never leaves one behind: the exit hook SIGKILLs whatever still runs.

import type { ToolProcess } from '../lib/index.js';

export class ProcessRegistry {
  private readonly live = new Map<number, { readonly label: string; readonly proc: ToolProcess }>();
  /** Every pid ever tracked (the smoke test checks none survives the run). */
  private readonly seen: Array<{ readonly label: string; readonly pid: number }> = [];
  private readonly onExit = (): void => this.killAllSync();

  constructor() {
    process.on('exit', this.onExit);
  }

  /** Tracks `proc` until it exits; returns it for chaining. */
  track(label: string, proc: ToolProcess): ToolProcess {
    if (proc.pid > 0) {
      this.live.set(proc.pid, { label, proc });
      this.seen.push({ label, pid: proc.pid });
      void proc.exited.then(() => this.live.delete(proc.pid));
    }
    return proc;
  }

  /**
   * Records a process started and stopped by someone else (e.g. stunnel, which lives in a pod netns
   * and is killed with it), so that history() lists it for the leftover check.
   */
  note(label: string, pid: number): void {
    if (pid > 0) this.seen.push({ label, pid });
  }

  /** Labels and pids of everything tracked or noted so far, alive or not. */
  history(): ReadonlyArray<{ readonly label: string; readonly pid: number }> {
    return [...this.seen];
  }

  /** Graceful stop of everything still running (SIGTERM, SIGKILL after graceMs). */
  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.live.values()].map(({ proc }) => proc.stop(graceMs)));
  }

  /** SIGKILL to everything still running; synchronous so it can run in an 'exit' handler. */
  killAllSync(): void {
    for (const { proc } of this.live.values()) {
      try {
        proc.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  dispose(): void {
    this.killAllSync();
    process.off('exit', this.onExit);
  }
}
