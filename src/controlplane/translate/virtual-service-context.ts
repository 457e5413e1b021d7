// What compiling one VirtualService for one served Service port needs: the object (for problems),
// its namespace (short hosts resolve there), the lookups destinations resolve against (Services,
// DestinationRules, endpoints for subsets), and the port the routes are built for.

import type { DestinationRuleIndex } from './destination-rules.js';
import type { ServiceHosts } from './istio-hosts.js';
import type { ServiceEndpoints } from './subsets.js';
import type { ObjectRef, Problems, TranslateOptions } from './types.js';

export interface VsContext {
  readonly object: ObjectRef;
  /** The VirtualService's namespace. */
  readonly namespace: string;
  readonly options: TranslateOptions;
  readonly problems: Problems;
  readonly services: ServiceHosts;
  readonly destinationRules: DestinationRuleIndex;
  readonly endpoints: ServiceEndpoints;
  /** The Service port being compiled: match `port` conditions and default destination ports. */
  readonly listenPort: number;
}
