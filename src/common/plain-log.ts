// LOG_FORMAT=plain: pino's JSON lines re-rendered as ztunnel's text lines before they reach the
// asynchronous destination: `<time>\t<level>\t<target>\t<message>\t<key=value ...>`.
//
// ztunnel's shape (its access log: `...Z\tinfo\taccess\tconnection complete\tsrc.addr=10.0.0.1:1234
// src.workload="x" ... duration="3ms"`): tab-separated head, then space-separated fields; strings
// quoted, numbers and booleans bare, socket addresses bare. Invariant: one record is one line
// (control characters in the message or in values are escaped), so line-based collectors work.
// Only records written in plain format pay for this; JSON output is pino's own, untouched.

import type { DestinationStream } from 'pino';

/** pino's numeric levels → the names tracing prints. */
const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Keys of pino's record that form the head of the line, not fields. */
const HEAD_KEYS = new Set(['level', 'time', 'msg', 'target', 'component']);
/** Keys of pino's error serializer folded into `err="<type>: <message>"`; the stack is JSON-only. */
const ERROR_HEAD_KEYS = new Set(['type', 'message', 'stack', 'name']);
/** Target of records with neither `target` (access) nor `component`. */
const DEFAULT_TARGET = 'ambit';

/** A string as a JSON-escaped body without quotes: keeps the message on one line. */
function escapeControls(text: string): string {
  return /[\u0000-\u001f\u007f]/.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}

/** `10.0.0.1:15008`, `[fd00::1]:80`, `host.ns.svc:80`: printed bare, as ztunnel's Display does. */
function isBareAddress(key: string, value: string): boolean {
  return key.endsWith('addr') && /^[\w.:[\]-]+$/.test(value);
}

function isPinoError(v: Record<string, unknown>): boolean {
  return typeof v.message === 'string' && typeof v.type === 'string' && 'stack' in v;
}

/** Appends `key=value` renderings of `v` to `out`; keys are escaped here, values by JSON quoting. */
function renderValue(rawKey: string, v: unknown, out: string[]): void {
  const key = escapeControls(rawKey);
  if (v === null || typeof v === 'number' || typeof v === 'boolean') {
    out.push(`${key}=${String(v)}`);
  } else if (typeof v === 'string') {
    out.push(`${key}=${isBareAddress(key, v) ? v : JSON.stringify(v)}`);
  } else if (Array.isArray(v)) {
    out.push(`${key}=${JSON.stringify(v)}`);
  } else if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (isPinoError(o)) {
      out.push(`${key}=${JSON.stringify(`${String(o.type)}: ${String(o.message)}`)}`);
      for (const [k, x] of Object.entries(o)) if (!ERROR_HEAD_KEYS.has(k)) renderValue(`${rawKey}.${k}`, x, out);
      return;
    }
    const entries = Object.entries(o);
    if (entries.length === 0) out.push(`${key}={}`);
    // Nested objects become dotted keys, like ztunnel's `src.addr`.
    for (const [k, x] of entries) renderValue(`${rawKey}.${k}`, x, out);
  } else {
    out.push(`${key}=${JSON.stringify(String(v))}`);
  }
}

/** One pino JSON record (one line, newline optional) → one plain line with a trailing newline. */
export function formatPlainLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    // Not a pino record (should not happen): passed through rather than lost.
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = LEVEL_NAMES[rec.level as number] ?? String(rec.level);
  const target = typeof rec.target === 'string' ? rec.target : typeof rec.component === 'string' ? rec.component : DEFAULT_TARGET;
  const fields: string[] = [];
  // A component under an explicit target (e.g. an access line from a component) stays visible.
  if (typeof rec.target === 'string' && rec.component !== undefined) renderValue('component', rec.component, fields);
  for (const [k, v] of Object.entries(rec)) if (!HEAD_KEYS.has(k)) renderValue(k, v, fields);
  const head = `${String(rec.time ?? '')}\t${level}\t${escapeControls(target)}\t${escapeControls(String(rec.msg ?? ''))}`;
  return fields.length === 0 ? `${head}\n` : `${head}\t${fields.join(' ')}\n`;
}

/**
 * A pino destination that formats each record synchronously and hands the text to `inner`
 * (normally pino's asynchronous stdout destination); flush() reaches `inner`.
 */
export function plainDestination(inner: DestinationStream): DestinationStream & { flush(cb?: (err?: Error) => void): void } {
  const target = inner as DestinationStream & { flush?: (cb?: (err?: Error) => void) => void };
  return {
    write(line: string): void {
      // pino writes one record per call.
      target.write(formatPlainLine(line));
    },
    flush(cb?: (err?: Error) => void): void {
      if (typeof target.flush === 'function') target.flush(cb);
      else cb?.();
    },
  };
}
