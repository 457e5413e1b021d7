// What compiling one route object needs: the object (for problems), its namespace, the snapshot
// backendRefs resolve against, the translation options and the problem collector.

import type { ObjectSnapshot } from '../../k8s/index.js';
import type { ObjectRef, Problems, TranslateOptions } from './types.js';

export interface RouteContext {
  readonly object: ObjectRef;
  /** The route's namespace: the default of backendRef namespaces. */
  readonly namespace: string;
  readonly snapshot: ObjectSnapshot;
  readonly options: TranslateOptions;
  readonly problems: Problems;
}
