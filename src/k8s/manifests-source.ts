// ObjectSource over a folder of YAML manifests: the folder is the desired state, as with
// `kubectl apply --prune` against an API server that validates; watched and reloaded atomically.
//
// Per reload (one store batch, so a translation sees all of a reload or none of it):
//  - a valid object is served; an object or file removed from the folder is deleted (prune);
//  - an invalid object is refused; if an earlier version of it (same kind/namespace/name) was
//    being served, that version stays in force, as an API server refusing an update leaves the
//    stored object alone; a new invalid object is simply absent;
//  - the same kind/namespace/name in two places refuses every occurrence (each rejection names the
//    other places); the last accepted version, if any, stays in force as above;
//  - a file that is not YAML (or cannot be read) keeps the objects it last contributed, as the
//    node agent keeps its last good config; valid objects elsewhere still take precedence;
//  - the folder itself vanishing (an unmounted volume) changes nothing until it comes back.
// Every file is read on each reload, but only a file whose content changed is parsed and validated
// again: the others give the same objects as before, which the store sees as unchanged at once.

import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { ErrorCounter, Registry } from '../metrics/index.js';
import { parseManifestFile, placeText, relativeName, scanFolder, type AcceptedEntry, type ObjectPlace, type ParsedFile, type RefusedEntry } from './manifest-files.js';
import { KINDS, objectKey, type Kind, type KubeObject, type ObjectRejection, type ObjectSnapshot, type ObjectSource } from './objects.js';
import { RejectionReporter } from './rejections.js';
import { SourceCore, type ChangeListener } from './source-core.js';

export interface ManifestsSourceOptions {
  /** The folder; read recursively (*.yaml, *.yml). */
  readonly dir: string;
  readonly logger: Logger;
  /** Where `ambit_control_rejected_objects{source="manifests"}` is registered. */
  readonly registry?: Registry;
  readonly errors?: ErrorCounter;
  /** Quiet period after the last file event before reloading, ms (default 100). */
  readonly debounceMs?: number;
}

const DEFAULT_DEBOUNCE_MS = 100;

const identityKey = (kind: string, namespace: string | undefined, name: string): string => `${kind}|${objectKey(namespace, name)}`;
const keyOfObject = (o: KubeObject): string => identityKey(o.kind, o.metadata.namespace, o.metadata.name);

export class ManifestsSource implements ObjectSource {
  private readonly dir: string;
  private readonly core: SourceCore;
  private readonly reporter: RejectionReporter;
  private readonly watchers = new Map<string, FSWatcher>();
  /** What each file (folder-relative) contributed to the current snapshot. */
  private contributions = new Map<string, readonly KubeObject[]>();
  /** Each file's last parse, by a hash of its text: an unchanged file is not parsed again. */
  private parsedFiles = new Map<string, { readonly hash: string; readonly parsed: ParsedFile }>();
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private folderMissing = false;
  /** Completed reloads (the initial load is 1). */
  reloads = 0;
  /** Files parsed and validated so far (a reload parses only the files whose content changed). */
  filesParsed = 0;

  constructor(private readonly options: ManifestsSourceOptions) {
    this.dir = resolve(options.dir);
    this.core = new SourceCore(options.logger);
    this.reporter = new RejectionReporter({
      source: 'manifests',
      logger: options.logger,
      ...(options.registry !== undefined ? { registry: options.registry } : {}),
      ...(options.errors !== undefined ? { errors: options.errors } : {}),
    });
  }

  /** Loads the folder once (then synced) and starts watching; CONFIG_IO if the folder cannot be read. */
  async start(): Promise<void> {
    try {
      await this.reload(true);
    } catch (err) {
      this.stop();
      throw new MeshError('CONFIG_IO', `cannot read manifests folder ${this.dir}: ${(err as Error).message}`, { cause: err });
    }
    this.core.markSynced();
  }

  async close(): Promise<void> {
    this.stop();
    await this.reloading;
  }

  destroy(): void {
    this.stop();
  }

  get synced(): boolean {
    return this.core.synced;
  }

  whenSynced(): Promise<void> {
    return this.core.whenSynced();
  }

  snapshot(): ObjectSnapshot {
    return this.core.snapshot();
  }

  onChange(listener: ChangeListener): () => void {
    return this.core.onChange(listener);
  }

  rejections(): readonly ObjectRejection[] {
    return this.reporter.list();
  }

  private stop(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Every folder is watched on its own (recursive fs.watch is not dependable on Linux for Node 20). */
  private syncWatchers(dirs: readonly string[]): void {
    if (this.closed) return;
    const want = new Set(dirs);
    for (const [dir, w] of this.watchers) {
      if (!want.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of want) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.schedule());
        w.on('error', () => {
          // The folder went away; the rescan this schedules drops or re-adds its watcher.
          w.close();
          this.watchers.delete(dir);
          this.schedule();
        });
        this.watchers.set(dir, w);
      } catch {
        this.schedule(); // vanished between scan and watch
      }
    }
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
  }

  /** One reload at a time; events during a reload cause exactly one more. */
  private kick(): void {
    if (this.reloading !== undefined) {
      this.again = true;
      return;
    }
    this.reloading = this.reload(false)
      .catch((err: unknown) => this.options.logger.error({ err, dir: this.dir }, 'manifests reload failed; keeping the current objects'))
      .finally(() => {
        this.reloading = undefined;
        if (this.again && !this.closed) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async reload(initial: boolean): Promise<void> {
    let scan;
    try {
      scan = await scanFolder(this.dir);
    } catch (err) {
      if (initial) throw err;
      // Watches on a removed folder die silently; they are made anew when it is back.
      for (const w of this.watchers.values()) w.close();
      this.watchers.clear();
      if (!this.folderMissing) {
        this.folderMissing = true;
        this.options.logger.warn({ dir: this.dir, err: (err as Error).message }, 'manifests folder cannot be read; keeping the current objects until it is back');
      }
      // Only the root's parent events could tell us it is back; poll gently instead.
      this.timer = setTimeout(() => this.kick(), 1000);
      this.timer.unref();
      return;
    }
    if (this.folderMissing) {
      this.folderMissing = false;
      this.options.logger.info({ dir: this.dir }, 'manifests folder readable again');
    }
    // Watch before reading so an edit racing with this reload schedules another.
    this.syncWatchers(scan.dirs);
    const files = new Map<string, ParsedFile>();
    const parsedFiles = new Map<string, { hash: string; parsed: ParsedFile }>();
    for (const path of scan.files) {
      const name = relativeName(this.dir, path);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted since the scan
        files.set(name, { parsed: false, rejection: { source: name, path: '(file)', reason: `cannot be read: ${(err as Error).message}` } });
        continue;
      }
      const hash = createHash('sha256').update(text).digest('hex');
      const last = this.parsedFiles.get(name);
      let parsed = last?.hash === hash ? last.parsed : undefined;
      if (parsed === undefined) {
        parsed = parseManifestFile(name, text);
        this.filesParsed++;
      }
      files.set(name, parsed);
      parsedFiles.set(name, { hash, parsed });
    }
    if (this.closed && !initial) return;
    this.parsedFiles = parsedFiles;
    this.commit(files);
    this.reloads++;
  }

  /** Decides the new desired state from the parsed files and applies it in one batch. */
  private commit(files: ReadonlyMap<string, ParsedFile>): void {
    const rejections: ObjectRejection[] = [];
    const occurrences = new Map<string, AcceptedEntry[]>();
    const refused: Array<{ entry: RefusedEntry; file: string }> = [];
    for (const [file, parsed] of files) {
      if (!parsed.parsed) {
        rejections.push(parsed.rejection);
        continue;
      }
      for (const a of parsed.accepted) {
        const key = keyOfObject(a.object);
        const list = occurrences.get(key);
        if (list === undefined) occurrences.set(key, [a]);
        else list.push(a);
      }
      for (const r of parsed.refused) {
        rejections.push(r.rejection);
        refused.push({ entry: r, file });
      }
    }

    const desired = new Map<string, { object: KubeObject; file: string }>();
    const refusedKeys = new Map<string, string>(); // identity → file of its first refused occurrence
    for (const [key, places] of occurrences) {
      if (places.length === 1) {
        desired.set(key, { object: places[0]!.object, file: places[0]!.place.file });
        continue;
      }
      for (const p of places) rejections.push(duplicateRejection(p, places));
      if (!refusedKeys.has(key)) refusedKeys.set(key, places[0]!.place.file);
    }
    // Files that did not parse keep what they contributed, unless defined validly elsewhere.
    for (const [file, parsed] of files) {
      if (parsed.parsed) continue;
      for (const o of this.contributions.get(file) ?? []) {
        const key = keyOfObject(o);
        if (!desired.has(key) && !refusedKeys.has(key)) desired.set(key, { object: o, file });
      }
    }
    for (const { entry, file } of refused) {
      if (entry.identity === undefined) continue;
      const key = identityKey(entry.identity.kind, entry.identity.namespace, entry.identity.name);
      if (!occurrences.has(key) && !refusedKeys.has(key)) refusedKeys.set(key, file);
    }
    // A refused object keeps its last accepted version, if one is being served.
    const current = this.core.snapshot();
    for (const [key, file] of refusedKeys) {
      if (desired.has(key)) continue;
      const [kind, nsName] = splitKey(key);
      const slash = nsName.indexOf('/');
      const kept = current.get(kind as Kind, slash < 0 ? undefined : nsName.slice(0, slash), slash < 0 ? nsName : nsName.slice(slash + 1));
      if (kept !== undefined) desired.set(key, { object: kept, file });
    }

    const contributions = new Map<string, KubeObject[]>();
    for (const { object, file } of desired.values()) {
      const list = contributions.get(file);
      if (list === undefined) contributions.set(file, [object]);
      else list.push(object);
    }
    this.contributions = contributions;
    const changed = this.core.replaceKinds(KINDS, [...desired.values()].map((d) => d.object));
    this.reporter.replace(rejections);
    if (changed.size > 0) {
      this.options.logger.info(
        { dir: this.dir, objects: desired.size, rejected: rejections.length, changed: [...changed].sort(), version: this.core.snapshot().version },
        'manifests applied',
      );
    }
  }
}

function splitKey(key: string): [string, string] {
  const bar = key.indexOf('|');
  return [key.slice(0, bar), key.slice(bar + 1)];
}

function duplicateRejection(self: AcceptedEntry, all: readonly AcceptedEntry[]): ObjectRejection {
  const o = self.object;
  const places = all.map((p) => placeText(p.place));
  const place: ObjectPlace = self.place;
  return {
    source: place.file,
    documentIndex: place.documentIndex,
    kind: o.kind,
    ...(o.metadata.namespace !== undefined ? { namespace: o.metadata.namespace } : {}),
    name: o.metadata.name,
    path: place.pathPrefix === undefined ? 'metadata.name' : `${place.pathPrefix}.metadata.name`,
    reason: `duplicate: ${o.kind} ${objectKey(o.metadata.namespace, o.metadata.name)} is defined at ${places.join(' and ')}; every occurrence is refused`,
  };
}
