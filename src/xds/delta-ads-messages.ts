// The delta ADS messages (envoy.service.discovery.v3 DeltaDiscoveryRequest/Response, Node, Status) as
// plain typed objects, and their wire codecs; shared by the agent's client, the control plane and tests.

import type { MetadataValue } from '../config/types.js';
import { protoType } from './proto-root.js';

/** envoy.config.core.v3.Node, the two fields ztunnel fills (upstream: ztunnel src/xds/client.rs). */
export interface AdsNode {
  readonly id: string;
  readonly metadata: Readonly<Record<string, MetadataValue>>;
}

/** google.rpc.Status as a NACK carries it: ztunnel's code is 0, the message lists `<name>: <reason>`. */
export interface AdsStatus {
  readonly code: number;
  readonly message: string;
}

export interface DeltaRequest {
  readonly typeUrl: string;
  /** Only on the first request of each type on a stream. */
  readonly node?: AdsNode | undefined;
  readonly resourceNamesSubscribe?: readonly string[];
  readonly resourceNamesUnsubscribe?: readonly string[];
  /** name → version of resources held from earlier streams (first request of a type only). */
  readonly initialResourceVersions?: Readonly<Record<string, string>>;
  /** The nonce of the response this request ACKs or NACKs; "" on initial requests. */
  readonly responseNonce?: string;
  /** Present = NACK. */
  readonly errorDetail?: AdsStatus | undefined;
}

/** A resource as carried in a response: `resource` is the google.protobuf.Any (absent = a bad resource). */
export interface DeltaResource {
  readonly name: string;
  readonly version: string;
  readonly resource?: { readonly typeUrl: string; readonly value: Uint8Array } | undefined;
}

export interface DeltaResponse {
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly DeltaResource[];
  readonly removedResources: readonly string[];
  readonly systemVersionInfo?: string;
}

const REQUEST = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
const RESPONSE = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';

/** MetadataValue → google.protobuf.Value object (protobufjs field names). */
function toValue(v: MetadataValue): Record<string, unknown> {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v as Readonly<Record<string, MetadataValue>>) };
}

function toStruct(obj: Readonly<Record<string, MetadataValue>>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toValue(v)])) };
}

interface WireValue {
  readonly kind?: string;
  readonly stringValue?: string;
  readonly numberValue?: number;
  readonly boolValue?: boolean;
  readonly structValue?: { readonly fields: Readonly<Record<string, WireValue>> } | null;
  readonly listValue?: { readonly values: readonly WireValue[] } | null;
}

function fromValue(v: WireValue): MetadataValue {
  switch (v.kind) {
    case 'stringValue':
      return v.stringValue ?? '';
    case 'numberValue':
      return v.numberValue ?? 0;
    case 'boolValue':
      return v.boolValue ?? false;
    case 'structValue':
      return fromStruct(v.structValue?.fields ?? {});
    case 'listValue':
      return (v.listValue?.values ?? []).map(fromValue);
    default:
      return null;
  }
}

function fromStruct(fields: Readonly<Record<string, WireValue>>): Record<string, MetadataValue> {
  const out = Object.create(null) as Record<string, MetadataValue>;
  for (const [k, v] of Object.entries(fields)) out[k] = fromValue(v);
  return { ...out };
}

export function encodeDeltaRequest(req: DeltaRequest): Buffer {
  const type = protoType(REQUEST);
  const msg: Record<string, unknown> = {
    typeUrl: req.typeUrl,
    resourceNamesSubscribe: [...(req.resourceNamesSubscribe ?? [])],
    resourceNamesUnsubscribe: [...(req.resourceNamesUnsubscribe ?? [])],
    initialResourceVersions: { ...(req.initialResourceVersions ?? {}) },
    responseNonce: req.responseNonce ?? '',
  };
  if (req.node) msg.node = { id: req.node.id, metadata: toStruct(req.node.metadata) };
  if (req.errorDetail) msg.errorDetail = { code: req.errorDetail.code, message: req.errorDetail.message };
  return Buffer.from(type.encode(type.fromObject(msg)).finish());
}

interface WireRequest {
  readonly typeUrl: string;
  readonly node: { readonly id: string; readonly metadata: { readonly fields: Readonly<Record<string, WireValue>> } | null } | null;
  readonly resourceNamesSubscribe: readonly string[];
  readonly resourceNamesUnsubscribe: readonly string[];
  readonly initialResourceVersions: Readonly<Record<string, string>>;
  readonly responseNonce: string;
  readonly errorDetail: { readonly code: number; readonly message: string } | null;
}

/** Throws on malformed bytes (grpc-js turns a throwing deserializer into an INTERNAL status). */
export function decodeDeltaRequest(bytes: Uint8Array): DeltaRequest {
  const m = protoType(REQUEST).decode(bytes) as unknown as WireRequest;
  return {
    typeUrl: m.typeUrl,
    node: m.node ? { id: m.node.id, metadata: fromStruct(m.node.metadata?.fields ?? {}) } : undefined,
    resourceNamesSubscribe: [...m.resourceNamesSubscribe],
    resourceNamesUnsubscribe: [...m.resourceNamesUnsubscribe],
    initialResourceVersions: { ...m.initialResourceVersions },
    responseNonce: m.responseNonce,
    errorDetail: m.errorDetail ? { code: m.errorDetail.code, message: m.errorDetail.message } : undefined,
  };
}

export function encodeDeltaResponse(res: DeltaResponse): Buffer {
  const type = protoType(RESPONSE);
  const msg = {
    systemVersionInfo: res.systemVersionInfo ?? '',
    typeUrl: res.typeUrl,
    nonce: res.nonce,
    removedResources: [...res.removedResources],
    resources: res.resources.map((r) => ({
      name: r.name,
      version: r.version,
      ...(r.resource ? { resource: { type_url: r.resource.typeUrl, value: r.resource.value } } : {}),
    })),
  };
  return Buffer.from(type.encode(type.fromObject(msg)).finish());
}

interface WireResponse {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly removedResources: readonly string[];
  readonly resources: readonly {
    readonly name: string;
    readonly version: string;
    /** google.protobuf.Any keeps its snake_case field name in protobufjs's bundled definition. */
    readonly resource: { readonly type_url: string; readonly value: Uint8Array } | null;
  }[];
}

/** Throws on malformed bytes (grpc-js then ends the call with INTERNAL; the client reconnects). */
export function decodeDeltaResponse(bytes: Uint8Array): DeltaResponse {
  const m = protoType(RESPONSE).decode(bytes) as unknown as WireResponse;
  return {
    systemVersionInfo: m.systemVersionInfo,
    typeUrl: m.typeUrl,
    nonce: m.nonce,
    removedResources: [...m.removedResources],
    resources: m.resources.map((r) => ({
      name: r.name,
      version: r.version,
      resource: r.resource ? { typeUrl: r.resource.type_url, value: r.resource.value } : undefined,
    })),
  };
}
