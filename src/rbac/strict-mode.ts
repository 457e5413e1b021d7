// The static DENY policy istiod derives from PeerAuthentication STRICT: it denies any connection
// without a peer principal, i.e. plaintext traffic arriving on 15006.

import type { Authorization } from '../state/types.js';

export const STRICT_POLICY_NAME = 'istio_converted_static_strict';

/** `<rootNamespace>/istio_converted_static_strict`: DENY when `not_principals: [presence]` passes. */
export function strictModePolicy(rootNamespace = 'istio-system'): Authorization {
  return {
    name: STRICT_POLICY_NAME,
    namespace: rootNamespace,
    // istiod sends WORKLOAD_SELECTOR scope and attaches the key to each STRICT workload's
    // authorization_policies, so it applies only where STRICT mode is in effect.
    scope: 'WorkloadSelector',
    action: 'Deny',
    dryRun: false,
    rules: [
      [
        [
          {
            namespaces: [],
            notNamespaces: [],
            principals: [],
            notPrincipals: [{ kind: 'presence' }],
            serviceAccounts: [],
            notServiceAccounts: [],
            sourceIps: [],
            notSourceIps: [],
            destinationIps: [],
            notDestinationIps: [],
            destinationPorts: [],
            notDestinationPorts: [],
          },
        ],
      ],
    ],
  };
}
