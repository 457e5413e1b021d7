// Bearer tokens for the manifests (no cluster) mode: a YAML map `token → caller` in a file,
// watched and reloaded. A token file that becomes unreadable or invalid accepts no token at all.
//
// File format (one entry per token; the value is `namespace/serviceAccount`, or a map that may also
// bind the token to the caller's pod, whose node then comes from the pod store, or to a node):
//   s3cr3t-node-a: { serviceAccount: istio-system/ztunnel, node: node-a }
//   s3cr3t-node-b: { serviceAccount: istio-system/ztunnel, pod: ztunnel-7xk2p }
//   s3cr3t-app:    default/app

import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../../common/log.js';
import { MeshError } from '../../common/errors.js';
import type { TokenAuthenticator, TokenSubject } from './caller.js';

/** Quiet time after the last change to the file before it is re-read, ms. */
export const TOKEN_FILE_DEBOUNCE_MS = 100;

/** A Kubernetes name segment (DNS-1123 label or subdomain; service accounts may contain dots). */
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const ENTRY_KEYS = new Set(['serviceAccount', 'pod', 'node']);

/** Parses the file's text: token digest → subject. Throws MeshError CA_CONFIG naming the entry. */
export function parseTokenFile(text: string, where: string): Map<string, TokenSubject> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    // Only the position: the parser's message quotes the offending line, which may hold a token.
    const pos = (err as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    throw new MeshError('CA_CONFIG', `token file ${where}: not YAML${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}`);
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new MeshError('CA_CONFIG', `token file ${where}: expected a map of token → caller`);
  const out = new Map<string, TokenSubject>();
  let n = 0;
  for (const [token, value] of Object.entries(doc as Record<string, unknown>)) {
    n++;
    // Entries are named by position: the token itself is a secret and never appears in errors or logs.
    const entry = `entry ${n}`;
    if (token.trim() !== token || token === '' || /\s/.test(token)) throw new MeshError('CA_CONFIG', `token file ${where}: ${entry}: a token must be non-empty without whitespace`);
    out.set(tokenDigest(token), subjectOf(value, `token file ${where}: ${entry}`));
  }
  return out;
}

function subjectOf(value: unknown, where: string): TokenSubject {
  let account: unknown = value;
  let pod: unknown;
  let node: unknown;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const map = value as Record<string, unknown>;
    const unknown = Object.keys(map).filter((k) => !ENTRY_KEYS.has(k));
    if (unknown.length > 0) throw new MeshError('CA_CONFIG', `${where}: unknown field(s) ${unknown.join(', ')} (allowed: ${[...ENTRY_KEYS].join(', ')})`);
    ({ serviceAccount: account, pod, node } = map);
  }
  if (typeof account !== 'string') throw new MeshError('CA_CONFIG', `${where}: expected "namespace/serviceAccount" or a map with serviceAccount`);
  const parts = account.split('/');
  if (parts.length !== 2 || !NAME.test(parts[0] as string) || !NAME.test(parts[1] as string)) {
    throw new MeshError('CA_CONFIG', `${where}: "${account}" is not namespace/serviceAccount`);
  }
  for (const [field, v] of [['pod', pod], ['node', node]] as const) {
    if (v !== undefined && (typeof v !== 'string' || !NAME.test(v))) throw new MeshError('CA_CONFIG', `${where}: ${field} must be a Kubernetes name`);
  }
  return {
    namespace: parts[0] as string,
    serviceAccount: parts[1] as string,
    ...(typeof pod === 'string' ? { pod: { name: pod } } : {}),
    ...(typeof node === 'string' ? { node } : {}),
  };
}

/** Tokens are kept and looked up by SHA-256 only: the map never holds a usable secret. */
function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface StaticTokenAuthenticatorOptions {
  readonly path: string;
  readonly logger: Logger;
  /** Debounce, ms; default TOKEN_FILE_DEBOUNCE_MS. */
  readonly debounceMs?: number;
}

export class StaticTokenAuthenticator implements TokenAuthenticator {
  readonly name = 'token file';
  readonly #options: StaticTokenAuthenticatorOptions;
  #tokens: ReadonlyMap<string, TokenSubject> = new Map();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;

  constructor(options: StaticTokenAuthenticatorOptions) {
    this.#options = options;
  }

  /** Reads the file (an error here is fatal: MeshError CA_CONFIG) and starts watching it. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#tokens = await this.#read();
    this.#started = true;
    this.#watch();
    this.#options.logger.info({ path: this.#options.path, tokens: this.#tokens.size }, 'CA token file loaded');
  }

  /** Number of tokens accepted now. */
  get size(): number {
    return this.#tokens.size;
  }

  async authenticate(token: string): Promise<TokenSubject | undefined> {
    if (!this.#started || this.#closed) return undefined;
    return this.#tokens.get(tokenDigest(token));
  }

  /** Re-reads the file now. A bad file empties the token set (fail closed) until it is fixed. */
  async reload(): Promise<void> {
    if (this.#closed) return;
    try {
      const tokens = await this.#read();
      if (this.#closed) return;
      this.#tokens = tokens;
      this.#options.logger.info({ path: this.#options.path, tokens: tokens.size }, 'CA token file reloaded');
    } catch (err) {
      // Keeping the old tokens would keep a token the operator just revoked working.
      this.#tokens = new Map();
      this.#options.logger.error({ path: this.#options.path, err: (err as Error).message }, 'CA token file unusable: no bearer token is accepted until it is fixed');
    }
  }

  async close(): Promise<void> {
    this.destroy();
  }

  destroy(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#tokens = new Map();
  }

  async #read(): Promise<Map<string, TokenSubject>> {
    let text: string;
    try {
      text = await readFile(this.#options.path, 'utf8');
    } catch (err) {
      throw new MeshError('CA_CONFIG', `token file ${this.#options.path}: ${(err as Error).message}`, { cause: err });
    }
    return parseTokenFile(text, this.#options.path);
  }

  /** Watches the directory, not the file: Kubernetes swaps a `..data` symlink instead of writing the file. */
  #watch(): void {
    const name = basename(this.#options.path);
    try {
      this.#watcher = watch(dirname(this.#options.path), (_event, file) => {
        if (file !== null && file !== name && !String(file).startsWith('..')) return;
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => void this.reload(), this.#options.debounceMs ?? TOKEN_FILE_DEBOUNCE_MS);
        this.#timer.unref();
      });
      this.#watcher.unref();
      this.#watcher.on('error', (err) => this.#options.logger.warn({ path: this.#options.path, err: err.message }, 'watching the CA token file stopped'));
    } catch (err) {
      this.#options.logger.warn({ path: this.#options.path, err: (err as Error).message }, 'cannot watch the CA token file; changes need a restart');
    }
  }
}
