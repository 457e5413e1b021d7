// The debug list of the CA server's recent decisions (issued and refused), newest first, bounded:
// what /debug shows to answer "why did this agent not get its certificate?".

import type { CallerSource } from './caller.js';
import type { RefusalReason } from './refusal.js';

export const DEFAULT_RECENT_LIMIT = 100;

export interface IssuanceRecord {
  /** RFC 3339. */
  readonly time: string;
  readonly outcome: 'issued' | 'refused';
  /** The authenticated caller's identity, when authentication got that far. */
  readonly caller?: string | undefined;
  readonly callerSource?: CallerSource | undefined;
  readonly peer: string;
  /** The identity asked for (ImpersonatedIdentity, else the caller's own). */
  readonly requested?: string | undefined;
  readonly impersonated: boolean;
  /** The caller's node (impersonation). */
  readonly node?: string | undefined;
  /** Issued only. */
  readonly serialNumber?: string | undefined;
  readonly notAfter?: string | undefined;
  readonly ttlSeconds?: number | undefined;
  /** Refused only. */
  readonly reason?: RefusalReason | undefined;
  readonly message?: string | undefined;
}

export class IssuanceLog {
  readonly #limit: number;
  /** Ring buffer: #items[#next] is the oldest once full. */
  readonly #items: IssuanceRecord[] = [];
  #next = 0;

  constructor(limit = DEFAULT_RECENT_LIMIT) {
    this.#limit = Math.max(1, limit);
  }

  add(record: IssuanceRecord): void {
    if (this.#items.length < this.#limit) this.#items.push(record);
    else this.#items[this.#next] = record;
    this.#next = (this.#next + 1) % this.#limit;
  }

  /** Newest first. */
  list(): IssuanceRecord[] {
    const n = this.#items.length;
    const out: IssuanceRecord[] = [];
    for (let i = 1; i <= n; i++) out.push(this.#items[(this.#next - i + n * 2) % n] as IssuanceRecord);
    return out;
  }
}
