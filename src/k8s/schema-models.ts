// The upstream schema of each kind and version: the kubernetes-models class that validates it, and
// the conversion of its JSON-schema errors into field paths (`spec.ports[0].port`) and reasons.
//
// Substitutes (the installed packages have no model for these versions; the upstream schemas are
// the same across the versions, as Istio and Gateway API serve them without conversion):
//   GRPCRoute v1 → v1alpha2 model; PeerAuthentication v1 → v1beta1 model;
//   DestinationRule, VirtualService, ServiceEntry v1 → v1beta1 models.
// A substitute validates a copy whose apiVersion is the model's own (its schema pins it).

import { GRPCRoute as GRPCRouteV1alpha2 } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2/GRPCRoute';
import { TCPRoute as TCPRouteV1alpha2 } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2/TCPRoute';
import { Gateway as GatewayV1 } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { HTTPRoute as HTTPRouteV1 } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { Gateway as GatewayV1beta1 } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1/Gateway';
import { HTTPRoute as HTTPRouteV1beta1 } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1/HTTPRoute';
import { DestinationRule as DestinationRuleV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/DestinationRule';
import { ServiceEntry as ServiceEntryV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/ServiceEntry';
import { VirtualService as VirtualServiceV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/VirtualService';
import { DestinationRule as DestinationRuleV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule';
import { ServiceEntry as ServiceEntryV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/ServiceEntry';
import { VirtualService as VirtualServiceV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import { AuthorizationPolicy as AuthorizationPolicyV1 } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { RequestAuthentication as RequestAuthenticationV1 } from '@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication';
import { AuthorizationPolicy as AuthorizationPolicyV1beta1 } from '@kubernetes-models/istio/security.istio.io/v1beta1/AuthorizationPolicy';
import { PeerAuthentication as PeerAuthenticationV1beta1 } from '@kubernetes-models/istio/security.istio.io/v1beta1/PeerAuthentication';
import { RequestAuthentication as RequestAuthenticationV1beta1 } from '@kubernetes-models/istio/security.istio.io/v1beta1/RequestAuthentication';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Node } from 'kubernetes-models/v1/Node';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { Kind } from './objects.js';

/** Any kubernetes-models class: built from plain data, `validate()` throws on schema errors. */
export type ModelClass = new (data: never) => { validate(): void };

interface SchemaModel {
  readonly model: ModelClass;
  /** Set for a substitute: the apiVersion the model's schema requires. */
  readonly validateAs?: string;
}

const GW = 'gateway.networking.k8s.io';
const SEC = 'security.istio.io';
const NET = 'networking.istio.io';

/** Keyed by kind, then by version; every version in KIND_INFO has an entry (a unit test checks it). */
export const SCHEMA_MODELS: { readonly [K in Kind]: { readonly [version: string]: SchemaModel } } = {
  Namespace: { v1: { model: Namespace } },
  Pod: { v1: { model: Pod } },
  Service: { v1: { model: Service } },
  ServiceAccount: { v1: { model: ServiceAccount } },
  Node: { v1: { model: Node } },
  EndpointSlice: { v1: { model: EndpointSlice } },
  Gateway: { v1: { model: GatewayV1 }, v1beta1: { model: GatewayV1beta1 } },
  HTTPRoute: { v1: { model: HTTPRouteV1 }, v1beta1: { model: HTTPRouteV1beta1 } },
  GRPCRoute: { v1: { model: GRPCRouteV1alpha2, validateAs: `${GW}/v1alpha2` }, v1alpha2: { model: GRPCRouteV1alpha2 } },
  TCPRoute: { v1alpha2: { model: TCPRouteV1alpha2 } },
  AuthorizationPolicy: { v1: { model: AuthorizationPolicyV1 }, v1beta1: { model: AuthorizationPolicyV1beta1 } },
  PeerAuthentication: { v1: { model: PeerAuthenticationV1beta1, validateAs: `${SEC}/v1beta1` }, v1beta1: { model: PeerAuthenticationV1beta1 } },
  RequestAuthentication: { v1: { model: RequestAuthenticationV1 }, v1beta1: { model: RequestAuthenticationV1beta1 } },
  DestinationRule: {
    v1: { model: DestinationRuleV1beta1, validateAs: `${NET}/v1beta1` },
    v1beta1: { model: DestinationRuleV1beta1 },
    v1alpha3: { model: DestinationRuleV1alpha3 },
  },
  VirtualService: {
    v1: { model: VirtualServiceV1beta1, validateAs: `${NET}/v1beta1` },
    v1beta1: { model: VirtualServiceV1beta1 },
    v1alpha3: { model: VirtualServiceV1alpha3 },
  },
  ServiceEntry: {
    v1: { model: ServiceEntryV1beta1, validateAs: `${NET}/v1beta1` },
    v1beta1: { model: ServiceEntryV1beta1 },
    v1alpha3: { model: ServiceEntryV1alpha3 },
  },
};

/** One problem with an object: where (field path) and why. */
export interface FieldProblem {
  /** `spec.containers[0].ports[0].containerPort`; `(object)` for the object as a whole. */
  readonly path: string;
  readonly reason: string;
}

/** The subset of ajv's ErrorObject the models' ValidationError carries. */
export interface SchemaError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
  readonly data?: unknown;
}

/**
 * Gateway API enums documented as open — "values may be added to this enum ... Unknown values here
 * must result in the implementation setting the Accepted Condition for the Route to status: False,
 * with a Reason of UnsupportedValue" (apis/v1: PathMatchType, HeaderMatchType, QueryParamMatchType,
 * HTTPRouteFilterType, HTTPPathModifierType, GRPCMethodMatchType, GRPCRouteFilterType). An unknown
 * value there is not a schema refusal: the route is kept, its translation drops that rule and route
 * status reports it. Field paths with list indexes written `[]`.
 */
const OPEN_ENUMS: { readonly [K in Kind]?: ReadonlySet<string> } = {
  HTTPRoute: new Set([
    'spec.rules[].matches[].path.type',
    'spec.rules[].matches[].headers[].type',
    'spec.rules[].matches[].queryParams[].type',
    'spec.rules[].filters[].type',
    'spec.rules[].filters[].requestRedirect.path.type',
    'spec.rules[].filters[].urlRewrite.path.type',
    'spec.rules[].backendRefs[].filters[].type',
    'spec.rules[].backendRefs[].filters[].requestRedirect.path.type',
    'spec.rules[].backendRefs[].filters[].urlRewrite.path.type',
  ]),
  GRPCRoute: new Set([
    'spec.rules[].matches[].method.type',
    'spec.rules[].matches[].headers[].type',
    'spec.rules[].filters[].type',
    'spec.rules[].backendRefs[].filters[].type',
  ]),
};

/** `/spec/rules/0/filters/1/type` → `spec.rules[].filters[].type`. */
const genericPath = (pointer: string): string => pointerSegments(pointer).map((s, i) => (/^\d+$/.test(s) ? '[]' : i === 0 ? s : `.${s}`)).join('');

/** Validates `object` (kind and version already checked) against its upstream schema. */
export function schemaProblems(kind: Kind, version: string, object: Record<string, unknown>): FieldProblem[] {
  const entry = SCHEMA_MODELS[kind][version];
  if (entry === undefined) return [{ path: 'apiVersion', reason: `no schema for ${kind} ${version}` }];
  const data = entry.validateAs === undefined ? object : { ...object, apiVersion: entry.validateAs };
  const open = OPEN_ENUMS[kind];
  return modelProblems(entry.model, data, object, open && ((e) => e.keyword === 'enum' && open.has(genericPath(e.instancePath))));
}

/**
 * `data` validated by any kubernetes-models class (also kinds the control plane does not read,
 * such as the Deployments and RBAC objects of deploy/), its errors as field paths of `object`.
 * `ignore`: schema errors that are not problems (open enums).
 */
export function modelProblems(model: ModelClass, data: object, object: object = data, ignore?: (e: SchemaError) => boolean): FieldProblem[] {
  try {
    new model(data as never).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: readonly SchemaError[] }).errors;
    if (!Array.isArray(errors)) throw err;
    return convertErrors(ignore ? errors.filter((e) => !ignore(e)) : errors, object);
  }
}

/**
 * One problem per field path, in schema order. Errors of `anyOf`/`oneOf` alternatives at the same
 * path are merged into one reason ("must be string or must be integer, got boolean true"); the
 * summary error of the combinator itself is dropped when its alternatives already explain the path.
 */
function convertErrors(errors: readonly SchemaError[], object: unknown): FieldProblem[] {
  const byPath = new Map<string, { reasons: string[]; got: string | undefined }>();
  const combinators = new Map<string, string>();
  for (const e of errors) {
    const segments = pointerSegments(e.instancePath);
    let path: string;
    let reason: string;
    let got: string | undefined;
    if (e.keyword === 'required') {
      path = formatFieldPath(object, [...segments, String(e.params['missingProperty'])]);
      reason = 'required field is missing';
    } else if (e.keyword === 'additionalProperties') {
      path = formatFieldPath(object, [...segments, String(e.params['additionalProperty'])]);
      reason = 'unknown field';
    } else {
      path = formatFieldPath(object, segments);
      reason = reasonOf(e);
      if (SHOWS_VALUE.has(e.keyword)) got = describeValue(valueAt(object, segments));
    }
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      combinators.set(path, reason);
      continue;
    }
    const entry = byPath.get(path) ?? { reasons: [], got: undefined };
    if (!entry.reasons.includes(reason)) entry.reasons.push(reason);
    entry.got ??= got;
    byPath.set(path, entry);
  }
  for (const [path, reason] of combinators) if (!byPath.has(path)) byPath.set(path, { reasons: [reason], got: undefined });
  return [...byPath].map(([path, { reasons, got }]) => ({ path, reason: reasons.join(' or ') + (got === undefined ? '' : `, got ${got}`) }));
}

/** Keywords whose reason is about the value itself: the value is shown (`got string "x"`). */
const SHOWS_VALUE = new Set(['type', 'enum', 'const', 'format', 'pattern', 'maximum', 'minimum', 'exclusiveMaximum', 'exclusiveMinimum', 'maxLength', 'minLength']);

function reasonOf(e: SchemaError): string {
  switch (e.keyword) {
    case 'type':
      return `must be ${String(e.params['type'])}`;
    case 'enum':
      return `must be one of: ${(e.params['allowedValues'] as unknown[]).map(String).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(e.params['allowedValue'])}`;
    default:
      return e.message ?? e.keyword;
  }
}

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  const text = JSON.stringify(v);
  return `${typeof v} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

/** `/spec/containers/0` → ['spec', 'containers', '0'] (RFC 6901 unescaping). */
function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(object: unknown, segments: readonly string[]): unknown {
  let v: unknown = object;
  for (const s of segments) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}

/**
 * Kubernetes field-path form: identifiers joined by `.`, list indexes as `[0]`, other map keys
 * (label keys, hostnames) as `[app.kubernetes.io/name]`. Whether a numeric segment is an index is
 * read from the data itself (a list there), never guessed.
 */
export function formatFieldPath(object: unknown, segments: readonly (string | number)[]): string {
  let out = '';
  let v: unknown = object;
  for (const seg of segments) {
    const key = String(seg);
    if (Array.isArray(v) && /^\d+$/.test(key)) out += `[${key}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${key}]`;
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  }
  return out === '' ? '(object)' : out;
}
