// Ambit-specific counters of the heap trimmer (no ztunnel equivalent): how often the agent gave its
// C heap back to the kernel (glibc malloc_trim) and how much RSS that returned.

import { Counter, type Registry } from 'prom-client';

export class HeapTrimMetrics {
  private readonly trims: Counter;
  private readonly released: Counter;

  constructor(registry: Registry) {
    this.trims = new Counter({ name: 'ambit_heap_trims_total', help: 'malloc_trim(0) runs of the heap trimmer (Ambit-specific)', registers: [registry] });
    this.released = new Counter({
      name: 'ambit_heap_trim_released_bytes_total',
      help: 'RSS drop measured around each heap trim, bytes (an estimate: other threads allocate meanwhile; Ambit-specific)',
      registers: [registry],
    });
  }

  /** One trim and the RSS it released, bytes. */
  record(releasedBytes: number): void {
    this.trims.inc();
    if (releasedBytes > 0) this.released.inc(releasedBytes);
  }
}
