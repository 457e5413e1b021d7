// The pods istio-cni handed over by ZDS, as a PodSource for the pod registry: each with the netns
// fd received for it (owned here until the registry releases the pod) and its workload info.
//
// Invariant: every fd received is closed exactly once: at once when it duplicates the netns held
// (same inode) or its entry left before the registry saw it, else when the registry releases it.

import type { NativeSockets } from '../sockets/index.js';
import type { Workload } from '../state/index.js';
import type { PodEntry, PodSource } from './pod-source.js';
import type { ZdsWorkloadInfo } from './zds-codec.js';

interface ZdsPod extends PodEntry {
  readonly netnsFd: number;
  readonly workload: ZdsWorkloadInfo;
}

/** What an Add did to the pod set. */
export type ZdsUpsert =
  /** The pod is new. */
  | 'added'
  /** The pod was held with another netns: its proxy is replaced (ztunnel: the pod sandbox was re-created). */
  | 'replaced'
  /** The pod is held with this same netns (by inode): the fd just received was closed, nothing changes. */
  | 'same';

export class ZdsPodSource implements PodSource {
  private readonly pods = new Map<string, ZdsPod>();
  /** Entries the registry has been given (by current()) and so must release. */
  private readonly claimed = new WeakSet<PodEntry>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly native: NativeSockets,
    private readonly nodeName: string,
  ) {}

  current(): PodEntry[] {
    const all = [...this.pods.values()];
    for (const p of all) this.claimed.add(p);
    return all;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  has(uid: string): boolean {
    return this.pods.has(uid);
  }

  /**
   * Records AddWorkload; takes ownership of `netnsFd` (closed here when it is a duplicate). Pods are
   * told apart by netns inode: two fds name the same netns iff their inodes are equal (ztunnel NetnsID).
   */
  upsert(uid: string, workload: ZdsWorkloadInfo, netnsFd: number, inode: number): ZdsUpsert {
    const held = this.pods.get(uid);
    const netns = `netns inode ${inode}`;
    if (held && held.netns === netns) {
      this.closeFd(netnsFd);
      return 'same';
    }
    if (held) this.drop(held);
    this.pods.set(uid, { uid, netns, netnsFd, workload, rules: 'cni' });
    this.notify();
    return held ? 'replaced' : 'added';
  }

  /** DelWorkload: the pod leaves the set. */
  delete(uid: string): void {
    const held = this.pods.get(uid);
    if (!held) return;
    this.drop(held);
    this.notify();
  }

  /** SnapshotSent: every pod not in `keep` leaves the set. */
  retainOnly(keep: ReadonlySet<string>): string[] {
    const gone = [...this.pods.values()].filter((p) => !keep.has(p.uid));
    for (const p of gone) this.drop(p);
    if (gone.length > 0) this.notify();
    return gone.map((p) => p.uid);
  }

  covers(w: Workload): boolean {
    if (w.node !== this.nodeName) return false;
    for (const { workload: i } of this.pods.values()) {
      if (i.name === w.name && i.namespace === w.namespace && i.serviceAccount === w.serviceAccount) return true;
    }
    return false;
  }

  release(entry: PodEntry): void {
    if (this.pods.get(entry.uid) === entry) this.pods.delete(entry.uid);
    if (entry.netnsFd !== undefined) this.closeFd(entry.netnsFd);
  }

  /** The fds of pods the registry never saw (it releases the others). */
  close(): void {
    for (const p of [...this.pods.values()]) if (!this.claimed.has(p)) this.drop(p);
  }

  private drop(p: ZdsPod): void {
    this.pods.delete(p.uid);
    // Seen by the registry: it tears the pod down, then releases the entry (and so the fd).
    if (!this.claimed.has(p)) this.closeFd(p.netnsFd);
  }

  private closeFd(fd: number): void {
    try {
      this.native.closeSocket(fd);
    } catch {
      // closed already: nothing else owns a received fd
    }
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}
