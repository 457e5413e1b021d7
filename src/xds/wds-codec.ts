// The WDS codec: the model's Workload, Service and Authorization ⇄ the bytes of istio.workload.Address
// and istio.security.Authorization, named as istiod names them. The control plane encodes, the agent decodes.

import { policyKey, serviceKey, type Authorization, type Service, type Workload } from '../state/index.js';
import { authorizationToWire, decodeAuthorization as fromWireAuthorization, type WireAuthorization } from './wds-authorization-codec.js';
import { decodeService, serviceToWire, type WireService } from './wds-service-codec.js';
import { decodeMessage, encodeMessage, invalid } from './wds-wire.js';
import { decodeWorkload, workloadToWire, type WireWorkload } from './wds-workload-codec.js';

export type DecodedAddress =
  | { readonly kind: 'workload'; readonly name: string; readonly workload: Workload }
  | { readonly kind: 'service'; readonly name: string; readonly service: Service };

/** Resource name of a Workload: its uid. */
export function workloadResourceName(w: Workload): string {
  return w.uid;
}

/** Resource name of a Service: `namespace/hostname`. */
export function serviceResourceName(s: Service): string {
  return serviceKey(s.namespace, s.hostname);
}

/** Resource name of an Authorization: `namespace/name` (the key Workload.authorization_policies uses). */
export function authorizationResourceName(a: Authorization): string {
  return policyKey(a.namespace, a.name);
}

/** Resource name of either kind of Address (a Workload is told apart by its `uid`). */
export function addressResourceName(value: Workload | Service): string {
  return isWorkload(value) ? workloadResourceName(value) : serviceResourceName(value);
}

function isWorkload(value: Workload | Service): value is Workload {
  return 'uid' in value;
}

/** istio.workload.Address bytes of a Workload or a Service. */
export function encodeAddress(value: Workload | Service): Uint8Array {
  return encodeMessage('istio.workload.Address', isWorkload(value) ? { workload: workloadToWire(value) } : { service: serviceToWire(value) });
}

/** istio.security.Authorization bytes. */
export function encodeAuthorization(value: Authorization): Uint8Array {
  return encodeMessage('istio.security.Authorization', authorizationToWire(value));
}

interface WireAddress {
  readonly type?: 'workload' | 'service';
  readonly workload?: WireWorkload | null;
  readonly service?: WireService | null;
}

/**
 * Decodes the Address resource called `name`, validating it as ztunnel does, plus one Ambit rule:
 * the name must be the resource's own key (uid, or namespace/hostname), because removals and
 * initial_resource_versions only ever name resources. Throws MeshError XDS_INVALID with the reason.
 */
export function decodeAddress(bytes: Uint8Array, name: string): DecodedAddress {
  const address = decodeMessage<WireAddress>('istio.workload.Address', bytes);
  if (address.type === 'workload' && address.workload) {
    const workload = decodeWorkload(address.workload);
    if (workload.uid === '') throw invalid('workload has no uid');
    if (workload.uid !== name) throw invalid(`resource name is not the workload uid "${workload.uid}"`);
    return { kind: 'workload', name, workload };
  }
  if (address.type === 'service' && address.service) {
    const service = decodeService(address.service);
    const key = serviceResourceName(service);
    if (key !== name) throw invalid(`resource name is not the service key "${key}" (namespace/hostname)`);
    return { kind: 'service', name, service };
  }
  throw invalid('Address holds neither a workload nor a service');
}

/** Decodes the Authorization resource called `name` (which must be `namespace/name`). */
export function decodeAuthorization(bytes: Uint8Array, name: string): Authorization {
  const policy = fromWireAuthorization(decodeMessage<WireAuthorization>('istio.security.Authorization', bytes));
  const key = authorizationResourceName(policy);
  if (key !== name) throw invalid(`resource name is not the policy key "${key}" (namespace/name)`);
  return policy;
}
