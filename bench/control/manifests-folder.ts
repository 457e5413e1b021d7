// The synthetic cluster as a manifests folder for `ambit control --manifests DIR`: one multi-document
// YAML file per namespace plus one for cluster-scoped objects; a change rewrites its namespace's file.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KubeObject } from '../../src/k8s/index.js';
import type { ClusterChange } from './cluster-changes.js';
import type { SyntheticCluster } from './synthetic-cluster.js';

const CLUSTER_FILE = '_cluster';

export class ManifestsFolder {
  /** File (without .yaml) → its objects, in order. */
  #files = new Map<string, KubeObject[]>();
  /** File → its text as the cluster was generated (written again by reset). */
  readonly #original = new Map<string, string>();
  /** Bytes of the whole folder as generated. */
  totalBytes = 0;

  constructor(
    readonly dir: string,
    private readonly cluster: SyntheticCluster,
  ) {}

  /** Writes the cluster as generated (the folder is created), undoing every change applied since. */
  reset(): void {
    mkdirSync(this.dir, { recursive: true });
    this.#files = new Map();
    for (const o of this.cluster.objects) {
      const file = o.kind === 'Namespace' ? o.metadata.name : (o.metadata.namespace ?? CLUSTER_FILE);
      const list = this.#files.get(file) ?? [];
      list.push(o);
      this.#files.set(file, list);
    }
    this.totalBytes = 0;
    for (const file of this.#files.keys()) {
      let text = this.#original.get(file);
      if (text === undefined) {
        text = this.#text(file);
        this.#original.set(file, text);
      }
      this.#put(file, text);
      this.totalBytes += Buffer.byteLength(text);
    }
  }

  /** Applies a change to its namespace's file and rewrites that file atomically (rename). */
  apply(c: ClusterChange): void {
    const list = this.#files.get(c.namespace);
    if (list === undefined) throw new Error(`no manifests file for namespace ${c.namespace}`);
    const ch = c.change;
    const name = ch.type === 'upsert' ? ch.object.metadata.name : ch.name;
    const i = list.findIndex((o) => o.kind === 'Pod' && o.metadata.name === name);
    if (ch.type === 'delete') {
      if (i >= 0) list.splice(i, 1);
    } else if (i >= 0) list[i] = ch.object;
    else list.push(ch.object);
    this.#put(c.namespace, this.#text(c.namespace));
  }

  #text(file: string): string {
    return this.#files.get(file)!.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
  }

  #put(file: string, text: string): void {
    // A hidden temporary name: the source skips dot files, and the rename swaps the file whole.
    const tmp = join(this.dir, `.${file}.yaml.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.dir, `${file}.yaml`));
  }
}
