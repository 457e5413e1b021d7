// The ZDS wire codec (package istio.workload.zds, proto/istio/zds/zds.proto): the requests istio-cni
// sends, the hello and acks the agent sends. Built from an in-code descriptor so the agent needs no
// .proto at run time; a unit test checks it against proto/istio/zds/zds.proto field by field.

import type protobuf from 'protobufjs';
import { MeshError } from '../common/errors.js';
import { protobufJs } from '../common/lazy-packages.js';

/** The descriptor of proto/istio/zds/zds.proto (field numbers are the wire contract). */
export const ZDS_DESCRIPTOR = {
  nested: {
    istio: {
      nested: {
        workload: {
          nested: {
            zds: {
              nested: {
                Version: { values: { NOT_USED: 0, V1: 1 } },
                ZdsHello: { fields: { version: { type: 'Version', id: 1 } } },
                WorkloadInfo: {
                  reserved: [[4, 4], 'trust_domain'],
                  fields: { name: { type: 'string', id: 1 }, namespace: { type: 'string', id: 2 }, service_account: { type: 'string', id: 3 } },
                },
                AddWorkload: { fields: { uid: { type: 'string', id: 1 }, workload_info: { type: 'WorkloadInfo', id: 2 } } },
                KeepWorkload: { fields: { uid: { type: 'string', id: 1 } } },
                DelWorkload: { fields: { uid: { type: 'string', id: 2 } } },
                SnapshotSent: { fields: {} },
                Ack: { fields: { error: { type: 'string', id: 1 } } },
                WorkloadRequest: {
                  oneofs: { payload: { oneof: ['add', 'keep', 'del', 'snapshot_sent'] } },
                  fields: {
                    add: { type: 'AddWorkload', id: 1 },
                    keep: { type: 'KeepWorkload', id: 5 },
                    del: { type: 'DelWorkload', id: 2 },
                    snapshot_sent: { type: 'SnapshotSent', id: 3 },
                  },
                },
                WorkloadResponse: { oneofs: { payload: { oneof: ['ack'] } }, fields: { ack: { type: 'Ack', id: 1 } } },
              },
            },
          },
        },
      },
    },
  },
};

/** ZDS protocol version this agent speaks (Version.V1). */
export const ZDS_VERSION = 1;

let types: { readonly hello: protobuf.Type; readonly request: protobuf.Type; readonly response: protobuf.Type } | undefined;

/** The message types, built on first use (protobufjs is loaded only by an agent that speaks ZDS). */
function T(): NonNullable<typeof types> {
  if (types) return types;
  const root = protobufJs().Root.fromJSON(ZDS_DESCRIPTOR);
  types = {
    hello: root.lookupType('istio.workload.zds.ZdsHello'),
    request: root.lookupType('istio.workload.zds.WorkloadRequest'),
    response: root.lookupType('istio.workload.zds.WorkloadResponse'),
  };
  return types;
}

/** The pod as istio-cni names it (ztunnel WorkloadInfo): found in the xDS state by these, on this node. */
export interface ZdsWorkloadInfo {
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** A decoded WorkloadRequest. `info` is undefined when AddWorkload carried no workload_info. */
export type ZdsRequest =
  | { readonly kind: 'add'; readonly uid: string; readonly info: ZdsWorkloadInfo | undefined }
  | { readonly kind: 'keep'; readonly uid: string }
  | { readonly kind: 'del'; readonly uid: string }
  | { readonly kind: 'snapshot-sent' };

interface RawRequest {
  payload?: 'add' | 'keep' | 'del' | 'snapshot_sent';
  add?: { uid?: string; workload_info?: { name?: string; namespace?: string; service_account?: string } };
  keep?: { uid?: string };
  del?: { uid?: string };
}

const DECODE_OPTIONS = { oneofs: true, defaults: true } as const;

/**
 * Decodes one WorkloadRequest datagram. Throws MeshError ZDS_PROTOCOL when the bytes are not a
 * WorkloadRequest, carry no payload, or name an empty uid (ztunnel: "no payload"; an empty uid
 * names no pod, so it is refused rather than keyed).
 */
export function decodeWorkloadRequest(bytes: Uint8Array): ZdsRequest {
  let raw: RawRequest;
  try {
    raw = T().request.toObject(T().request.decode(bytes), DECODE_OPTIONS) as RawRequest;
  } catch (err) {
    throw new MeshError('ZDS_PROTOCOL', `malformed WorkloadRequest (${bytes.length} bytes): ${(err as Error).message}`, { cause: err });
  }
  const uidOf = (m: { uid?: string } | undefined, what: string): string => {
    const uid = m?.uid ?? '';
    if (uid === '') throw new MeshError('ZDS_PROTOCOL', `${what} with an empty uid`);
    return uid;
  };
  switch (raw.payload) {
    case 'add': {
      const wi = raw.add?.workload_info;
      const info = wi ? { name: wi.name ?? '', namespace: wi.namespace ?? '', serviceAccount: wi.service_account ?? '' } : undefined;
      return { kind: 'add', uid: uidOf(raw.add, 'AddWorkload'), info };
    }
    case 'keep':
      return { kind: 'keep', uid: uidOf(raw.keep, 'KeepWorkload') };
    case 'del':
      return { kind: 'del', uid: uidOf(raw.del, 'DelWorkload') };
    case 'snapshot_sent':
      return { kind: 'snapshot-sent' };
    default:
      throw new MeshError('ZDS_PROTOCOL', 'WorkloadRequest without a payload');
  }
}

/** Encodes a WorkloadRequest (the istio-cni side; tests). */
export function encodeWorkloadRequest(req: ZdsRequest): Uint8Array {
  switch (req.kind) {
    case 'add': {
      const info = req.info ? { name: req.info.name, namespace: req.info.namespace, service_account: req.info.serviceAccount } : undefined;
      return T().request.encode(T().request.fromObject({ add: { uid: req.uid, workload_info: info } })).finish();
    }
    case 'keep':
      return T().request.encode(T().request.fromObject({ keep: { uid: req.uid } })).finish();
    case 'del':
      return T().request.encode(T().request.fromObject({ del: { uid: req.uid } })).finish();
    case 'snapshot-sent':
      return T().request.encode(T().request.fromObject({ snapshot_sent: {} })).finish();
  }
}

/** ZdsHello{version: V1}: the first message on every connection. */
export function encodeZdsHello(): Uint8Array {
  return T().hello.encode(T().hello.fromObject({ version: ZDS_VERSION })).finish();
}

export function decodeZdsHello(bytes: Uint8Array): { version: number } {
  const o = T().hello.toObject(T().hello.decode(bytes), { enums: Number, defaults: true }) as { version: number };
  return { version: o.version };
}

/** WorkloadResponse{ack: {error}}; an empty error is success. */
export function encodeAck(error: string): Uint8Array {
  return T().response.encode(T().response.fromObject({ ack: { error } })).finish();
}

/** The ack of a WorkloadResponse; throws when it carries none. */
export function decodeAck(bytes: Uint8Array): { error: string } {
  const o = T().response.toObject(T().response.decode(bytes), DECODE_OPTIONS) as { payload?: string; ack?: { error?: string } };
  if (o.payload !== 'ack') throw new Error('WorkloadResponse without an ack');
  return { error: o.ack?.error ?? '' };
}
