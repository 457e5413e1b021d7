// Manifest edits of the waypoint demo: write (or delete) files in the manifests folder, wait until the
// waypoint's config shows the change, and render what was written (whole file, or a diff of an edit).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { WaypointConfig } from '../../src/waypoint/index.js';
import type { WaypointConfigView, WaypointMesh } from '../helpers/waypoint-mesh.js';
import { lineDiff } from './narration.js';

/** One file of the manifests folder: its new YAML, or `undefined` to delete it. */
export interface ManifestEdit {
  readonly file: string;
  readonly yaml: string | undefined;
}

export interface Applied {
  /** `add manifests/x.yaml`, `edit ...`, `delete ...`, or a list of those. */
  readonly title: string;
  /**
   * The file as read back from the folder (new, or an edit that rewrote most of it: `(rewritten)`), a
   * line diff with 3 lines of context (a smaller edit), or a deletion mark.
   */
  readonly lines: string[];
  /** From the write until the waypoint held the change (translation + xDS push + apply). */
  readonly ms: number;
  readonly config: WaypointConfig;
}

/** Writes the edits, then waits (up to `timeoutMs`) until the waypoint's config satisfies `until`. */
export async function applyEdits(
  wm: WaypointMesh,
  edits: readonly ManifestEdit[],
  until: (c: WaypointConfig) => boolean,
  describe: (c: WaypointConfig | undefined) => string,
  timeoutMs = 30_000,
): Promise<Applied> {
  const folder = wm.mesh.manifests;
  const before = new Map(edits.map((e) => [e.file, existsSync(join(folder.dir, e.file)) ? folder.read(e.file) : undefined]));
  const t0 = Date.now();
  try {
    await wm.apply(Object.fromEntries(edits.map((e) => [e.file, e.yaml])), (c: WaypointConfigView) => until(c as unknown as WaypointConfig), timeoutMs);
  } catch {
    const last = (await wm.waypointConfig()).config as unknown as WaypointConfig | undefined;
    throw new Error(`the waypoint did not pick up ${edits.map((e) => e.file).join(', ')} within ${timeoutMs} ms; it holds: ${describe(last)}`);
  }
  const ms = Date.now() - t0;
  const config = (await wm.waypointConfig()).config as unknown as WaypointConfig;
  const verbs: string[] = [];
  const lines: string[] = [];
  for (const e of edits) {
    const was = before.get(e.file);
    const verb = e.yaml === undefined ? 'delete' : was === undefined ? 'add' : 'edit';
    verbs.push(`${verb} manifests/${e.file}`);
    if (edits.length > 1) lines.push(`# ${verb} manifests/${e.file}`);
    if (e.yaml === undefined) lines.push('- (the whole file)');
    else if (was === undefined) lines.push(...folder.read(e.file).trimEnd().split('\n'));
    else {
      // A rewrite reads better whole than as a diff of most of its lines.
      const now = folder.read(e.file);
      const diff = lineDiff(was, now, 3);
      const changed = diff.filter((l) => l.startsWith('+') || l.startsWith('-')).length;
      if (changed * 2 > now.trimEnd().split('\n').length) {
        verbs[verbs.length - 1] += ' (rewritten)';
        if (edits.length > 1) lines[lines.length - 1] += ' (rewritten)';
        lines.push(...now.trimEnd().split('\n'));
      } else lines.push(...diff);
    }
  }
  return { title: verbs.join(', '), lines, ms, config };
}
