// `-o json` and `-o yaml`: the objects as read (filtered), JSON with two-space indentation or YAML
// through the `yaml` package; a trailing newline either way.

import { stringify } from 'yaml';
import type { OutputFormat } from './ctl-args.js';

export function formatStructured(value: unknown, format: Exclude<OutputFormat, 'table'>): string {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  // No aliases: a repeated object (the same workload in two lists) is written out each time.
  const text = stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 });
  return text.endsWith('\n') ? text : `${text}\n`;
}
