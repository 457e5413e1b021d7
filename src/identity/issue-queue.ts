// Bounded, prioritised admission for CSRs: at most N certificate requests run at once (ztunnel
// allows 8), and a waiting request is served RealTime first, then Warmup, then Background.

import { MeshError } from '../common/errors.js';

/** Why a certificate is wanted: a connection waits > a prefetch > a scheduled rotation. */
export type CertPriority = 'realtime' | 'warmup' | 'background';

const RANK: Record<CertPriority, number> = { realtime: 0, warmup: 1, background: 2 };

/** Release a slot; idempotent. */
export type ReleaseSlot = () => void;

export interface QueueTicket {
  readonly granted: Promise<ReleaseSlot>;
  /** Raise (never lower) the priority of a ticket still waiting. */
  raise(priority: CertPriority): void;
}

interface Waiter {
  rank: number;
  readonly seq: number;
  readonly resolve: (release: ReleaseSlot) => void;
  readonly reject: (err: Error) => void;
}

export class IssueQueue {
  readonly #limit: number;
  #active = 0;
  #seq = 0;
  #waiting: Waiter[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`issue queue limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  /** Requests currently holding a slot. */
  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  acquire(priority: CertPriority): QueueTicket {
    if (this.#active < this.#limit) {
      this.#active++;
      return { granted: Promise.resolve(this.#releaser()), raise: () => {} };
    }
    let waiter!: Waiter;
    const granted = new Promise<ReleaseSlot>((resolve, reject) => {
      waiter = { rank: RANK[priority], seq: this.#seq++, resolve, reject };
    });
    this.#waiting.push(waiter);
    return {
      granted,
      raise: (p) => {
        waiter.rank = Math.min(waiter.rank, RANK[p]);
      },
    };
  }

  /** Fails every waiting request (destroy); slots already granted stay with their holders. */
  rejectWaiting(err: MeshError): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.reject(err);
  }

  #releaser(): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#grantNext();
    };
  }

  #grantNext(): void {
    if (this.#active >= this.#limit || this.#waiting.length === 0) return;
    let best = 0;
    for (let i = 1; i < this.#waiting.length; i++) {
      const w = this.#waiting[i] as Waiter;
      const b = this.#waiting[best] as Waiter;
      if (w.rank < b.rank || (w.rank === b.rank && w.seq < b.seq)) best = i;
    }
    const [next] = this.#waiting.splice(best, 1);
    this.#active++;
    (next as Waiter).resolve(this.#releaser());
  }
}
