// Progress of a long benchmark run on stderr: one line per step with its index, name, the elapsed
// time and an ETA extrapolated from the steps done so far (steps may carry weights, e.g. seconds).

export interface ProgressOptions {
  /** Where lines go (default process.stderr). */
  readonly out?: { write(s: string): unknown };
  /** Milliseconds clock (default Date.now); injectable for tests. */
  readonly now?: () => number;
}

/** `75` → `1m15s`, `9.4` → `9s`, `3725` → `1h02m05s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(r)}s`;
  if (m > 0) return `${m}m${pad(r)}s`;
  return `${r}s`;
}

export class Progress {
  private readonly out: { write(s: string): unknown };
  private readonly now: () => number;
  private readonly t0: number;
  private index = 0;
  /** Weight of the steps started before the current one (i.e. finished). */
  private doneWeight = 0;
  private currentWeight = 0;

  /** `totalWeight`: the number of steps, or the sum of their weights when step() is given weights. */
  constructor(
    private readonly totalWeight: number,
    private readonly totalSteps = totalWeight,
    opts: ProgressOptions = {},
  ) {
    this.out = opts.out ?? process.stderr;
    this.now = opts.now ?? Date.now;
    this.t0 = this.now();
  }

  /** Announces the next step (the previous one is then counted as done). */
  step(name: string, weight = 1): void {
    this.doneWeight += this.currentWeight;
    this.currentWeight = weight;
    this.index++;
    const elapsed = (this.now() - this.t0) / 1000;
    const eta = this.doneWeight > 0 ? formatDuration((elapsed / this.doneWeight) * Math.max(0, this.totalWeight - this.doneWeight)) : '?';
    this.out.write(`[${this.index}/${this.totalSteps}] ${name}  (elapsed ${formatDuration(elapsed)}, ETA ${eta})\n`);
  }

  /** A free-form line under the current step. */
  note(message: string): void {
    this.out.write(`      ${message}\n`);
  }

  /** The closing line. */
  finish(message = 'done'): void {
    this.out.write(`${message} in ${formatDuration((this.now() - this.t0) / 1000)}\n`);
  }
}
