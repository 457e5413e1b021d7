// Readiness tasks (ztunnel readiness.rs): components register a named task at construction and
// release it once ready; the process is ready when no task is pending.

import { EventEmitter } from 'node:events';

export class Readiness {
  /** name → outstanding registrations under that name. */
  private readonly tasks = new Map<string, number>();
  private readonly events = new EventEmitter();
  private drainingSince: number | undefined;

  /**
   * Adds a pending task and returns its release function. Releasing twice is a no-op; the same
   * name may be registered several times and stays pending until every registration is released.
   */
  register(name: string): () => void {
    this.tasks.set(name, (this.tasks.get(name) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.tasks.get(name) ?? 1) - 1;
      if (n <= 0) this.tasks.delete(name);
      else this.tasks.set(name, n);
      if (this.tasks.size === 0) this.events.emit('ready');
    };
  }

  ready(): boolean {
    return this.tasks.size === 0 && this.drainingSince === undefined;
  }

  /**
   * The process is shutting down: not ready from now on, whatever the tasks, so load balancers
   * and kubelet stop sending new work at the start of the drain (not at its end).
   */
  startDrain(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Pending task names, sorted, each once. */
  pending(): string[] {
    return [...this.tasks.keys()].sort();
  }

  /** Resolves once no task is pending (immediately if already so); draining does not count. */
  whenReady(): Promise<void> {
    if (this.tasks.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.events.once('ready', resolve));
  }
}
