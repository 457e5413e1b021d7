// What compiling one VirtualService for one served Service port needs: the object (for problems),
// its namespace (short hosts resolve there), the lookups destinations resolve against (Services,
// DestinationRules, endpoints for subsets), and the port the routes are built for.

import type { DestinationRuleIndex } from './destination-rules.js';
import type { ServiceHosts } from './istio-hosts.js';
import type { EntryHosts } from './served-service-entries.js';
import type { ServiceEndpoints } from './subsets.js';
import type { ObjectRef, Problems, TranslateOptions } from './types.js';

export interface VsContext {
  readonly object: ObjectRef;
  /** The VirtualService's namespace. */
  readonly namespace: string;
  readonly options: TranslateOptions;
  readonly problems: Problems;
  readonly services: ServiceHosts;
  /** ServiceEntry hosts, for destinations that name one (absent: Services only). */
  readonly entryHosts?: EntryHosts;
  readonly destinationRules: DestinationRuleIndex;
  readonly endpoints: ServiceEndpoints;
  /** The Service port being compiled: match `port` conditions and default destination ports. */
  readonly listenPort: number;
}
