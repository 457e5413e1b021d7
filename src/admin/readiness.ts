// Readiness tasks (ztunnel readiness.rs): components register a named task at construction and
// release it once ready; the process is ready when no task is pending.

import { EventEmitter } from 'node:events';

export class Readiness {
  /** name → outstanding registrations under that name. */
  private readonly tasks = new Map<string, number>();
  private readonly events = new EventEmitter();

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
    return this.tasks.size === 0;
  }

  /** Pending task names, sorted, each once. */
  pending(): string[] {
    return [...this.tasks.keys()].sort();
  }

  /** Resolves once no task is pending (immediately if already so). */
  whenReady(): Promise<void> {
    if (this.ready()) return Promise.resolve();
    return new Promise((resolve) => this.events.once('ready', resolve));
  }
}
