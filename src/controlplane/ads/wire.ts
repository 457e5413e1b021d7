// The delta ADS wire for the server side: DeltaDiscoveryRequest decoding with the shared proto schema,
// and responses assembled from pre-encoded Resource messages so a resource is encoded once, not per client.

import protobuf from 'protobufjs';
import { MeshError } from '../../common/errors.js';
import { protoType } from '../../xds/index.js';

/** The Any wrapper's type URL prefix (google/protobuf/any.proto). */
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** The parts of envoy.config.core.v3.Node the server keeps (node id and metadata, istiod's `initConnection`). */
export interface NodeInfo {
  readonly id: string;
  readonly cluster: string;
  /** google.protobuf.Struct as plain JSON. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** A decoded DeltaDiscoveryRequest (envoy/service/discovery/v3/discovery.proto); proto3 zero values filled in. */
export interface DeltaRequest {
  readonly node: NodeInfo | undefined;
  readonly typeUrl: string;
  readonly subscribe: readonly string[];
  readonly unsubscribe: readonly string[];
  /** name → version the client already holds ("" = requested earlier, never received). */
  readonly initialVersions: ReadonlyMap<string, string>;
  readonly responseNonce: string;
  /** Set on a NACK (google.rpc.Status; ztunnel sends code 0 with the reasons in the message). */
  readonly errorDetail: { readonly code: number; readonly message: string } | undefined;
}

interface RawStatus {
  code?: number;
  message?: string;
}
interface RawNode {
  id?: string;
  cluster?: string;
  metadata?: { fields?: Record<string, RawValue> };
}
interface RawValue {
  nullValue?: number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: { fields?: Record<string, RawValue> };
  listValue?: { values?: RawValue[] };
}
interface RawRequest {
  node?: RawNode | null;
  typeUrl?: string;
  resourceNamesSubscribe?: string[];
  resourceNamesUnsubscribe?: string[];
  initialResourceVersions?: Record<string, string>;
  responseNonce?: string;
  errorDetail?: RawStatus | null;
}

let requestType: protobuf.Type | undefined;

/** Decodes one request; malformed bytes are MeshError XDS_STREAM (the stream ends INVALID_ARGUMENT). */
export function decodeDeltaRequest(bytes: Uint8Array): DeltaRequest {
  requestType ??= protoType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  let raw: RawRequest;
  try {
    raw = requestType.decode(bytes) as unknown as RawRequest;
  } catch (err) {
    throw new MeshError('XDS_STREAM', `malformed DeltaDiscoveryRequest: ${(err as Error).message}`, { cause: err });
  }
  const node = raw.node ?? undefined;
  const status = raw.errorDetail ?? undefined;
  return {
    node:
      node === undefined
        ? undefined
        : { id: node.id ?? '', cluster: node.cluster ?? '', metadata: structToJson(node.metadata?.fields) },
    typeUrl: raw.typeUrl ?? '',
    subscribe: raw.resourceNamesSubscribe ?? [],
    unsubscribe: raw.resourceNamesUnsubscribe ?? [],
    initialVersions: new Map(Object.entries(raw.initialResourceVersions ?? {})),
    responseNonce: raw.responseNonce ?? '',
    errorDetail: status === undefined ? undefined : { code: status.code ?? 0, message: status.message ?? '' },
  };
}

/** google.protobuf.Struct fields → JSON (struct.proto's documented JSON mapping). */
function structToJson(fields: Record<string, RawValue> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields ?? {})) out[k] = valueToJson(v);
  return out;
}

function valueToJson(v: RawValue, depth = 0): unknown {
  if (depth > 32) return null; // a hostile client cannot make the debug view recurse without bound
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.structValue !== undefined) return structToJson(v.structValue.fields);
  if (v.listValue !== undefined) return (v.listValue.values ?? []).map((x) => valueToJson(x, depth + 1));
  return null;
}

// Field numbers of envoy.service.discovery.v3.Resource / DeltaDiscoveryResponse and google.protobuf.Any.
// A protobuf parser accepts fields in any order, which lets a response be a concatenation.
const LEN = 2;
const tag = (field: number): number => (field << 3) | LEN;
const RESOURCE_VERSION = tag(1);
const RESOURCE_RESOURCE = tag(2);
const RESOURCE_NAME = tag(3);
const ANY_TYPE_URL = tag(1);
const ANY_VALUE = tag(2);
const RESPONSE_SYSTEM_VERSION_INFO = tag(1);
const RESPONSE_RESOURCES = tag(2);
const RESPONSE_TYPE_URL = tag(4);
const RESPONSE_NONCE = tag(5);
const RESPONSE_REMOVED_RESOURCES = tag(6);
const RESPONSE_CONTROL_PLANE = tag(7);
const CONTROL_PLANE_IDENTIFIER = tag(1);

/**
 * Encodes `Resource{name, version, resource: Any{type_url, value}}`. The Any comes last and its
 * value last inside it, so the final `value.length` bytes of the result are the message itself:
 * the cache keeps only this buffer and compares content through `resourceValue()`.
 */
export function encodeResource(name: string, version: string, typeUrl: string, value: Uint8Array): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(RESOURCE_NAME).string(name);
  w.uint32(RESOURCE_VERSION).string(version);
  w.uint32(RESOURCE_RESOURCE).fork();
  w.uint32(ANY_TYPE_URL).string(typeUrl);
  w.uint32(ANY_VALUE).bytes(value);
  w.ldelim();
  return w.finish();
}

/** The encoded message inside an `encodeResource` buffer (a view, no copy). */
export function resourceValue(encoded: Uint8Array, valueLength: number): Uint8Array {
  return encoded.subarray(encoded.length - valueLength);
}

export interface DeltaResponseParts {
  readonly typeUrl: string;
  readonly nonce: string;
  readonly systemVersionInfo: string;
  /** Buffers from encodeResource. */
  readonly resources: readonly Uint8Array[];
  readonly removed: readonly string[];
  /** control_plane.identifier (istiod puts its identity there); omitted when empty. */
  readonly controlPlane?: string;
}

/** Encodes a DeltaDiscoveryResponse; each resource buffer is copied once into the result. */
export function encodeDeltaResponse(parts: DeltaResponseParts): Buffer {
  const w = protobuf.Writer.create();
  if (parts.systemVersionInfo !== '') w.uint32(RESPONSE_SYSTEM_VERSION_INFO).string(parts.systemVersionInfo);
  for (const r of parts.resources) w.uint32(RESPONSE_RESOURCES).bytes(r);
  w.uint32(RESPONSE_TYPE_URL).string(parts.typeUrl);
  w.uint32(RESPONSE_NONCE).string(parts.nonce);
  for (const name of parts.removed) w.uint32(RESPONSE_REMOVED_RESOURCES).string(name);
  if (parts.controlPlane !== undefined && parts.controlPlane !== '') {
    w.uint32(RESPONSE_CONTROL_PLANE).fork().uint32(CONTROL_PLANE_IDENTIFIER).string(parts.controlPlane).ldelim();
  }
  const out = w.finish();
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
