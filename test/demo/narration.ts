// How the demo talks: numbered steps with elapsed time, indented lines, a two-column view (the YAML
// edit on the left, what the client sees on the right) and a small line diff for the edits.

const TTY = process.stdout.isTTY === true;
export const bold = (s: string): string => (TTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (TTY ? `\x1b[2m${s}\x1b[0m` : s);

export class Narrator {
  private n = 0;
  private t0 = Date.now();

  constructor(private readonly total: number) {}

  restartClock(): void {
    this.t0 = Date.now();
  }

  elapsed(): string {
    return `${((Date.now() - this.t0) / 1000).toFixed(1)}s`;
  }

  step(title: string): void {
    this.n++;
    console.log(`\n${bold(`[${this.n}/${this.total}] ${title}`)}  (+${this.elapsed()})`);
  }

  say(s = ''): void {
    console.log(s ? `      ${s}` : '');
  }

  /**
   * Two columns: `left` (the manifest edit) beside `right` (what the client sees). Left lines are
   * cut to the column width; right lines are not (the terminal may wrap them).
   */
  columns(leftTitle: string, left: readonly string[], rightTitle: string, right: readonly string[], width = 58): void {
    const cell = (s: string): string => (s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width));
    this.say(`${bold(cell(leftTitle))} │ ${bold(rightTitle)}`);
    this.say(`${'─'.repeat(width)}─┼─${'─'.repeat(Math.max(10, rightTitle.length))}`);
    for (let i = 0; i < Math.max(left.length, right.length); i++) this.say(`${cell(left[i] ?? '')} │ ${right[i] ?? ''}`);
  }

  note(s: string): void {
    this.say(dim(s));
  }
}

/**
 * A line diff of two small texts (LCS): each line prefixed `+ `, `- ` or `  `. With `context`,
 * unchanged lines further than that from a change are left out (`  …` marks a gap).
 */
export function lineDiff(before: string, after: string, context = Infinity): string[] {
  const a = before.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  const b = after.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: Array<{ mark: ' ' | '+' | '-'; text: string }> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ mark: ' ', text: a[i]! });
      i++;
      j++;
    } else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      // Removals before additions, as diff prints a changed block.
      out.push({ mark: '-', text: a[i++]! });
    } else {
      out.push({ mark: '+', text: b[j++]! });
    }
  }
  const changed = out.map((l, k) => (l.mark !== ' ' ? k : -1)).filter((k) => k >= 0);
  const near = (k: number): boolean => changed.some((c) => Math.abs(c - k) <= context);
  const lines: string[] = [];
  let gap = false;
  out.forEach((l, k) => {
    if (l.mark === ' ' && !near(k)) {
      if (!gap) lines.push('  …');
      gap = true;
      return;
    }
    gap = false;
    lines.push(`${l.mark} ${l.text}`);
  });
  return lines;
}
