// Feeds ProxyState from a local YAML config: a watched file (LOCAL_XDS_PATH), inline text
// (LOCAL_XDS) or the embedded example. A bad reload is rejected and the last good config is kept.

import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { MeshError, isMeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { SnapshotSink } from '../state/index.js';
import { EMBEDDED_EXAMPLE_YAML } from './embedded-example.js';
import { parseLocalConfig } from './local-config.js';

export interface LocalConfigSourceOptions {
  /** LOCAL_XDS_PATH: read at start, then watched. */
  readonly path?: string;
  /** LOCAL_XDS: inline YAML, applied once. */
  readonly inline?: string;
  /** Used when neither path nor inline is given; defaults to EMBEDDED_EXAMPLE_YAML. */
  readonly embedded?: string;
  /** ProxyState, or one input of a SnapshotMerger when xDS feeds the state too. */
  readonly state: SnapshotSink;
  readonly logger: Logger;
  /** Called for every rejected reload (after start). */
  readonly onError?: (err: MeshError) => void;
  /** Quiet period after the last file event before reloading, ms. */
  readonly debounceMs?: number;
}

export interface LocalConfigSourceEvents {
  applied: [version: number];
  rejected: [err: MeshError];
}

const DEFAULT_DEBOUNCE_MS = 100;

/**
 * Events: `applied` (new version number) after each successful apply, `rejected` (MeshError) after
 * each refused reload. Lifecycle: start() → close() (graceful) | destroy().
 */
export class LocalConfigSource extends EventEmitter<LocalConfigSourceEvents> {
  /** Number of configs applied so far (1 after a successful start). */
  version = 0;
  /** Reloads refused because the file was invalid or unreadable. */
  rejectedCount = 0;
  lastError: MeshError | undefined;

  private readonly path: string | undefined;
  private readonly text: string | undefined;
  private readonly name: string;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastText: string | undefined;
  private reloading: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** The watched file was found deleted by a reload and has not been read since. */
  private deleted = false;

  constructor(private readonly options: LocalConfigSourceOptions) {
    super();
    if (options.path !== undefined && options.inline !== undefined) {
      throw new MeshError('CONFIG_INVALID', 'LOCAL_XDS_PATH and LOCAL_XDS: set one or the other, not both');
    }
    this.path = options.path === undefined ? undefined : resolve(options.path);
    this.text = options.path === undefined ? (options.inline ?? options.embedded ?? EMBEDDED_EXAMPLE_YAML) : undefined;
    this.name = options.path ?? (options.inline !== undefined ? 'LOCAL_XDS' : 'embedded example config');
  }

  /** Loads and applies the initial config; throws (CONFIG_INVALID / CONFIG_IO) so startup fails clearly. */
  async start(): Promise<void> {
    if (this.path === undefined) {
      this.applyText(this.text as string);
      return;
    }
    // Watch before the first read so a change racing with startup is not missed.
    this.watch(this.path);
    try {
      this.applyText(await this.read());
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  /** Stops watching and waits for an in-flight reload to finish. */
  async close(): Promise<void> {
    this.stop();
    await this.reloading;
  }

  /** Stops watching immediately; an in-flight reload will not apply. */
  destroy(): void {
    this.stop();
  }

  private stop(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async read(): Promise<string> {
    const path = this.path as string;
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new MeshError('CONFIG_IO', `cannot read local config ${this.name}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Parses and applies; identical text is not re-applied (editors often fire several events). */
  private applyText(text: string): void {
    if (text === this.lastText) return;
    const { snapshot, warnings } = parseLocalConfig(text, this.name);
    for (const w of warnings) this.options.logger.warn({ source: this.name }, w);
    this.lastText = text;
    this.version++;
    try {
      this.options.state.apply(snapshot);
    } finally {
      this.options.logger.info(
        { source: this.name, version: this.version, workloads: snapshot.workloads.length, services: snapshot.services.length, policies: snapshot.policies.length },
        'local config applied',
      );
      this.emit('applied', this.version);
    }
  }

  /**
   * Watches the directory, not the file: editors and `kubectl` replace files by rename, which
   * ends a watch on the old inode. Every event in the directory schedules a debounced reload.
   */
  private watch(path: string): void {
    const file = basename(path);
    this.watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (filename !== null && filename !== file && !filename.startsWith('..')) return;
      this.schedule();
    });
    this.watcher.on('error', (err) => {
      this.options.logger.error({ source: this.name, err }, 'local config watch failed; keeping the current config');
    });
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kickReload();
    }, this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
  }

  /** Runs reloads one at a time; an event during a reload causes exactly one more. */
  private kickReload(): void {
    if (this.reloading !== undefined) {
      this.again = true;
      return;
    }
    this.reloading = this.reload().finally(() => {
      this.reloading = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        this.kickReload();
      }
    });
  }

  private async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path as string, 'utf8');
    } catch (err) {
      // Deleted, or absent for a moment during a non-atomic replace: the create event brings us
      // back. Said once per deletion at info, because the running config no longer has a file.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        if (!this.deleted && !this.closed) {
          this.deleted = true;
          this.options.logger.info({ source: this.name, version: this.version }, 'local config file deleted; the last good config stays in force until it is recreated');
        }
        return;
      }
      this.reject(new MeshError('CONFIG_IO', `cannot read local config ${this.name}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (this.closed) return;
    if (text.trim() === '') {
      // A writer that truncates then writes shows an empty file for a moment; an empty config
      // would wipe every workload, so on reload it is treated as transient, never applied.
      this.options.logger.warn({ source: this.name }, 'local config file is empty; keeping the current config');
      return;
    }
    const restored = this.deleted;
    this.deleted = false;
    if (restored && text === this.lastText) {
      this.options.logger.info({ source: this.name, version: this.version }, 'local config file recreated, unchanged');
      return;
    }
    try {
      this.applyText(text);
      if (restored) this.options.logger.info({ source: this.name, version: this.version }, 'local config file recreated and applied');
    } catch (err) {
      if (!isMeshError(err)) throw err;
      this.reject(err);
    }
  }

  private reject(err: MeshError): void {
    this.rejectedCount++;
    this.lastError = err;
    this.options.logger.error({ source: this.name, code: err.code, rejected: this.rejectedCount }, `local config rejected, keeping version ${this.version}: ${err.message}`);
    this.options.onError?.(err);
    this.emit('rejected', err);
  }
}
