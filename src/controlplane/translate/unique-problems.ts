// A problem collector that keeps each distinct problem once: VirtualServices and DestinationRules
// are compiled per waypoint, service port and cluster, and one bad field must read as one problem.

import { Problems, type ObjectRef } from './types.js';

export class UniqueProblems extends Problems {
  private readonly seen = new Set<string>();

  override error(object: ObjectRef, field: string, reason: string): void {
    if (this.first('error', object, field, reason)) super.error(object, field, reason);
  }

  override warning(object: ObjectRef, field: string, reason: string): void {
    if (this.first('warning', object, field, reason)) super.warning(object, field, reason);
  }

  private first(severity: string, o: ObjectRef, field: string, reason: string): boolean {
    const key = `${severity}\u0000${o.kind}\u0000${o.namespace ?? ''}\u0000${o.name}\u0000${field}\u0000${reason}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }
}
