// Typed, path-aware reading of a parsed YAML document for the local config: every problem is
// collected (not thrown) with the file, the path inside the document, line:column and the reason.

import { isMap, isScalar, isSeq, isAlias, type Document, type LineCounter, type Node } from 'yaml';
import { canonicalIp } from '../state/index.js';

export type YamlPath = readonly (string | number)[];

/** `workloads[2].services["default/echo"]` — the form every error message uses. */
export function formatPath(path: YamlPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(document)' : out;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

export class YamlReader {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];

  constructor(
    readonly source: string,
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter | undefined,
  ) {}

  /** Records a problem at `path`; `atKey` points the position at the map key instead of the value. */
  fail(path: YamlPath, reason: string, atKey = false): void {
    this.errors.push(`${this.where(path, atKey)}: ${reason}`);
  }

  warn(path: YamlPath, reason: string): void {
    this.warnings.push(`${this.where(path, false)}: ${reason}`);
  }

  private where(path: YamlPath, atKey: boolean): string {
    const pos = this.position(path, atKey);
    return `${this.source}${pos === undefined ? '' : `:${pos.line}:${pos.col}`}: ${formatPath(path)}`;
  }

  /** Walks the YAML node tree along `path`, stopping at the deepest node that exists. */
  private position(path: YamlPath, atKey: boolean): { line: number; col: number } | undefined {
    if (this.doc === undefined || this.lines === undefined) return undefined;
    let node: unknown = this.doc.contents;
    let found: Node | undefined = (node as Node | null) ?? undefined;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair === undefined) break;
        const last = i === path.length - 1;
        node = last && atKey ? pair.key : (pair.value ?? pair.key);
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else break;
      if (node === undefined || node === null) break;
      found = node as Node;
    }
    const offset = found?.range?.[0];
    return offset === undefined ? undefined : this.lines.linePos(offset);
  }

  /**
   * A map with only `allowed` keys (unknown ones are each an error, like serde's
   * deny_unknown_fields) and every `required` key present. undefined if not a map.
   */
  object(value: unknown, path: YamlPath, allowed: readonly string[], required: readonly string[] = []):
    | Record<string, unknown>
    | undefined {
    if (!isPlainObject(value)) {
      this.fail(path, `expected a map, got ${describe(value)}`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.fail([...path, key], `unknown field "${key}"; expected one of: ${allowed.join(', ')}`, true);
      }
    }
    for (const key of required) {
      if (value[key] === undefined || value[key] === null) this.fail([...path, key], `missing required field "${key}"`);
    }
    return value;
  }

  /** A list; absent/null → `[]`. */
  list(value: unknown, path: YamlPath): readonly unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.fail(path, `expected a list, got ${describe(value)}`);
      return [];
    }
    return value;
  }

  /** A map whose keys are data (ports, service keys); absent/null → `{}`. */
  dict(value: unknown, path: YamlPath): Record<string, unknown> {
    if (value === undefined || value === null) return {};
    if (!isPlainObject(value)) {
      this.fail(path, `expected a map, got ${describe(value)}`);
      return {};
    }
    return value;
  }

  string(value: unknown, path: YamlPath, fallback = ''): string {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') {
      this.fail(path, `expected a string, got ${describe(value)}`);
      return fallback;
    }
    return value;
  }

  bool(value: unknown, path: YamlPath, fallback = false): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.fail(path, `expected true or false, got ${describe(value)}`);
      return fallback;
    }
    return value;
  }

  /** Integer in [min, max]; strings of digits are accepted because map keys are always strings. */
  int(value: unknown, path: YamlPath, min: number, max: number, fallback: number): number {
    if (value === undefined || value === null) return fallback;
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      this.fail(path, `expected an integer in ${min}..${max}, got ${describe(value)}`);
      return fallback;
    }
    return n;
  }

  port(value: unknown, path: YamlPath, allowZero = false): number {
    return this.int(value, path, allowZero ? 0 : 1, 65535, 0);
  }

  enumOf<T extends string>(value: unknown, path: YamlPath, allowed: readonly T[], fallback: T): T {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(path, `expected one of ${allowed.join(' | ')}, got ${describe(value)}`);
      return fallback;
    }
    return value as T;
  }

  ip(value: unknown, path: YamlPath): string | undefined {
    if (typeof value !== 'string') {
      this.fail(path, `expected an IP address string, got ${describe(value)}`);
      return undefined;
    }
    const ip = canonicalIp(value);
    if (ip === undefined) this.fail(path, `"${value}" is not a valid IPv4 or IPv6 address`);
    return ip;
  }
}
