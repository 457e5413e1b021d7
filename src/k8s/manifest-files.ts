// Reading a manifests folder: finding its YAML files, and turning one file's text into validated
// objects and rejections (multi-document, List kinds expanded, namespaces defaulted to `default`).
//
// Hidden entries (names starting with `.`) are skipped: editors' swap files, and the `..data`
// and `..2024_...` folders of a ConfigMap volume, whose files are reached through the visible
// symlinks beside them. Symlinks are followed; a folder reached twice (a loop) is read once.

import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Composer, parseAllDocuments, Parser } from 'yaml';
import { KIND_INFO, type KubeObject, type ObjectRejection } from './objects.js';
import { describeValue } from './schema-models.js';
import { isKind, rejectionOf, validateObject, type ObjectIdentity } from './validation.js';

export interface FolderScan {
  /** Absolute paths of *.yaml / *.yml files, sorted (the order documents are read in). */
  readonly files: readonly string[];
  /** Absolute paths of every folder visited, the root first (each is watched). */
  readonly dirs: readonly string[];
}

const MANIFEST_FILE = /\.ya?ml$/i;

/** Walks `root`; throws (ENOENT, EACCES...) only if `root` itself cannot be read. */
export async function scanFolder(root: string): Promise<FolderScan> {
  const files: string[] = [];
  const dirs: string[] = [];
  const seen = new Set<string>();
  const walk = async (dir: string, isRoot: boolean): Promise<void> => {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (err) {
      if (isRoot) throw err;
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isRoot) throw err;
      return; // removed while walking: the next event rescans
    }
    dirs.push(dir);
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const path = join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const target = await stat(path).catch(() => undefined); // dangling links are skipped
        isDir = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDir) await walk(path, false);
      else if (isFile && MANIFEST_FILE.test(e.name)) files.push(path);
    }
  };
  await walk(root, true);
  files.sort();
  return { files, dirs };
}

/** Where an object came from, for rejections and duplicate reports. */
export interface ObjectPlace {
  /** The file, relative to the folder. */
  readonly file: string;
  readonly documentIndex: number;
  /** `items[3]` for an item of a List document. */
  readonly pathPrefix?: string;
}

export function placeText(p: ObjectPlace): string {
  return `${p.file}#${p.documentIndex}${p.pathPrefix === undefined ? '' : ` ${p.pathPrefix}`}`;
}

export interface AcceptedEntry {
  readonly object: KubeObject;
  readonly place: ObjectPlace;
}

export interface RefusedEntry {
  readonly rejection: ObjectRejection;
  /** Set when kind, namespace and name are all known (its last accepted version can be kept). */
  readonly identity?: Required<Pick<ObjectIdentity, 'kind' | 'name'>> & ObjectIdentity;
}

export type ParsedFile =
  | { readonly parsed: true; readonly accepted: readonly AcceptedEntry[]; readonly refused: readonly RefusedEntry[] }
  /** Not YAML (or unreadable): one rejection for the file; its objects are unknown. */
  | { readonly parsed: false; readonly rejection: ObjectRejection };

/** Parses and validates one file's text. `file` is the name used in rejections. */
export function parseManifestFile(file: string, text: string): ParsedFile {
  const values = documentValues(text);
  return values === undefined ? parseWholeFile(file, text) : takeValues(file, values);
}

/**
 * The documents' values, composed and converted one document at a time (a file of thousands of
 * objects never has all their YAML trees in memory at once); undefined when any document fails,
 * which parseWholeFile then reports exactly as it always has.
 */
function documentValues(text: string): unknown[] | undefined {
  const composer = new Composer({ prettyErrors: true });
  const values: unknown[] = [];
  for (const doc of composer.compose(new Parser().parse(text))) {
    if (doc.errors.length > 0) return undefined;
    try {
      values.push(doc.toJS({ maxAliasCount: 100 }));
    } catch {
      return undefined;
    }
  }
  return values;
}

/** The whole file at once: YAML errors (positions prettified) are reported before any conversion. */
function parseWholeFile(file: string, text: string): ParsedFile {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const all = Array.isArray(docs) ? docs : [];
  for (let i = 0; i < all.length; i++) {
    const doc = all[i]!;
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      return { parsed: false, rejection: { source: file, documentIndex: i, path: '(document)', reason: `not valid YAML: ${oneLine(e.message)}` } };
    }
  }
  const values: unknown[] = [];
  for (let i = 0; i < all.length; i++) {
    try {
      values.push(all[i]!.toJS({ maxAliasCount: 100 }));
    } catch (err) {
      return { parsed: false, rejection: { source: file, documentIndex: i, path: '(document)', reason: `not valid YAML: ${oneLine((err as Error).message)}` } };
    }
  }
  return takeValues(file, values);
}

/** Validates the documents' values: List kinds expanded, namespaces defaulted. */
function takeValues(file: string, values: readonly unknown[]): ParsedFile {
  const accepted: AcceptedEntry[] = [];
  const refused: RefusedEntry[] = [];
  values.forEach((value, i) => {
    if (value === null || value === undefined) return; // an empty document (`---` twice, comments only)
    const items = listItems(value);
    if (items === undefined) {
      take(value, { file, documentIndex: i }, accepted, refused);
    } else if (!Array.isArray(items.items)) {
      refused.push({ rejection: { source: file, documentIndex: i, kind: items.kind, path: 'items', reason: `must be a list, got ${describeValue(items.items)}` } });
    } else {
      items.items.forEach((item, j) => take(withListDefaults(item, items), { file, documentIndex: i, pathPrefix: `items[${j}]` }, accepted, refused));
    }
  });
  return { parsed: true, accepted, refused };
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface ListDoc {
  readonly kind: string;
  readonly apiVersion: unknown;
  readonly items: unknown;
  /** For a typed list (`PodList`), the kind of its items. */
  readonly itemKind?: string;
}

/**
 * `kind: List` (what `kubectl get -o yaml` prints for several objects) and typed lists such as
 * `PodList` (what an API server returns) are expanded to their items, as kubectl apply does.
 */
function listItems(v: unknown): ListDoc | undefined {
  if (!isMap(v) || typeof v['kind'] !== 'string') return undefined;
  const kind = v['kind'];
  if (kind === 'List') return { kind, apiVersion: v['apiVersion'], items: v['items'] };
  if (kind.endsWith('List') && isKind(kind.slice(0, -4))) return { kind, apiVersion: v['apiVersion'], items: v['items'], itemKind: kind.slice(0, -4) };
  return undefined;
}

/** Items of a typed list may leave out kind and apiVersion (API servers do): they are the list's. */
function withListDefaults(item: unknown, list: ListDoc): unknown {
  if (list.itemKind === undefined || !isMap(item)) return item;
  return { ...(item['apiVersion'] === undefined ? { apiVersion: list.apiVersion } : {}), ...(item['kind'] === undefined ? { kind: list.itemKind } : {}), ...item };
}

/** Defaults the namespace (`default`, as kubectl with no context namespace), validates, sorts. */
function take(value: unknown, place: ObjectPlace, accepted: AcceptedEntry[], refused: RefusedEntry[]): void {
  const object = withDefaultNamespace(value);
  const result = validateObject(object);
  if (result.ok) {
    accepted.push({ object: result.object, place });
    return;
  }
  const rejection = rejectionOf({ source: place.file, documentIndex: place.documentIndex, ...(place.pathPrefix !== undefined ? { pathPrefix: place.pathPrefix } : {}) }, result.identity, result.problems);
  const { kind, name } = result.identity;
  const complete = isKind(kind) && name !== undefined && (KIND_INFO[kind].namespaced ? result.identity.namespace !== undefined : result.identity.namespace === undefined);
  refused.push(complete ? { rejection, identity: { ...result.identity, kind, name } } : { rejection });
}

function withDefaultNamespace(value: unknown): unknown {
  if (!isMap(value) || !isKind(value['kind']) || !KIND_INFO[value['kind']].namespaced) return value;
  const meta = value['metadata'];
  if (!isMap(meta) || (meta['namespace'] !== undefined && meta['namespace'] !== null && meta['namespace'] !== '')) return value;
  return { ...value, metadata: { ...meta, namespace: 'default' } };
}

/** The folder-relative name of `path` (forward slashes), as rejections show it. */
export function relativeName(root: string, path: string): string {
  return relative(root, path).split('\\').join('/');
}
