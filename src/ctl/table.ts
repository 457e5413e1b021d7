// Aligned text tables, as istioctl's tabwriter prints them: a header row of upper-case names, one
// row per object, columns padded to their widest cell, no trailing spaces.

/** Spaces between columns. */
const GAP = 2;

export interface Table {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** A cell as one line: control characters (newlines, tabs, escapes) become spaces, so rows stay rows. */
export function cell(value: unknown): string {
  const text = value === undefined || value === null || value === '' ? '-' : String(value);
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

/** Width in terminal columns; code points, so a name with an accent counts once. */
function width(s: string): number {
  return [...s].length;
}

export function renderTable(t: Table): string {
  const columns = t.headers.length;
  const rows = [t.headers, ...t.rows].map((r) => Array.from({ length: columns }, (_, i) => cell(r[i])));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => width(r[i]!))));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === columns - 1 ? c : c + ' '.repeat(widths[i]! - width(c) + GAP)))
        .join('')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}
