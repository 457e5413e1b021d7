// Ambit-specific error counter `ambit_errors_total{component,code}` (no ztunnel equivalent): counts
// bad peers, malformed input and other handled failures by their stable MeshError code.

import { Counter, type Registry } from 'prom-client';
import { meshErrorOf } from '../common/errors.js';

export class ErrorCounter {
  private readonly counter: Counter<'component' | 'code'>;

  constructor(registry: Registry) {
    this.counter = new Counter({
      name: 'ambit_errors_total',
      help: 'Handled errors by component and MeshError code (Ambit-specific)',
      labelNames: ['component', 'code'] as const,
      registers: [registry],
    });
  }

  /** Counts one error with an explicit code. */
  inc(component: string, code: string, n = 1): void {
    this.counter.inc({ component, code }, n);
  }

  /** Counts any thrown value: the first MeshError in its cause chain names the code, else `UNKNOWN`. */
  record(component: string, err: unknown): void {
    this.inc(component, meshErrorOf(err)?.code ?? 'UNKNOWN');
  }
}
