// Wire codec of istio.v1.auth.IstioCertificateService (proto/citadel.proto) and the subset of
// google.protobuf.Struct it carries, built with protobufjs from an in-code descriptor (no .proto at run time).

import type protobuf from 'protobufjs';
import { protobufJs } from '../common/lazy-packages.js';

/** Full gRPC method path of the unary CA call. */
export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

/** Struct key istiod reads in shared (node agent) mode: the identity to issue for. */
export const IMPERSONATED_IDENTITY_KEY = 'ImpersonatedIdentity';

/**
 * Field numbers are the wire contract and match citadel.proto and google/protobuf/struct.proto;
 * field 2 of the request is unused upstream and deliberately absent.
 */
const DESCRIPTOR = {
  nested: {
    istio: {
      nested: {
        v1: {
          nested: {
            auth: {
              nested: {
                IstioCertificateRequest: {
                  fields: {
                    csr: { type: 'string', id: 1 },
                    validity_duration: { type: 'int64', id: 3 },
                    metadata: { type: 'google.protobuf.Struct', id: 4 },
                  },
                },
                IstioCertificateResponse: {
                  fields: { cert_chain: { rule: 'repeated', type: 'string', id: 1 } },
                },
              },
            },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            Struct: { fields: { fields: { keyType: 'string', type: 'Value', id: 1 } } },
            Value: {
              oneofs: { kind: { oneof: ['null_value', 'number_value', 'string_value', 'bool_value', 'struct_value', 'list_value'] } },
              fields: {
                null_value: { type: 'NullValue', id: 1 },
                number_value: { type: 'double', id: 2 },
                string_value: { type: 'string', id: 3 },
                bool_value: { type: 'bool', id: 4 },
                struct_value: { type: 'Struct', id: 5 },
                list_value: { type: 'ListValue', id: 6 },
              },
            },
            ListValue: { fields: { values: { rule: 'repeated', type: 'Value', id: 1 } } },
            NullValue: { values: { NULL_VALUE: 0 } },
          },
        },
      },
    },
  },
};

let types: { readonly request: protobuf.Type; readonly response: protobuf.Type } | undefined;

/** The two message types, built on first use (only the istiod CA provider and its tests need protobufjs). */
function messageTypes(): NonNullable<typeof types> {
  if (types) return types;
  const root = protobufJs().Root.fromJSON(DESCRIPTOR);
  types = { request: root.lookupType('istio.v1.auth.IstioCertificateRequest'), response: root.lookupType('istio.v1.auth.IstioCertificateResponse') };
  return types;
}

export interface IstioCertificateRequest {
  /** PEM PKCS#10 CSR. */
  readonly csr: string;
  /** Requested lifetime in seconds (the CA may cap it). */
  readonly validityDurationSeconds: number;
  /** Struct fields with string values only (that is all ztunnel ever sends); absent = no metadata. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface IstioCertificateResponse {
  readonly certChain: readonly string[];
}

export function encodeCertificateRequest(req: IstioCertificateRequest): Buffer {
  const msg: Record<string, unknown> = { csr: req.csr, validity_duration: req.validityDurationSeconds };
  if (req.metadata !== undefined) {
    const fields: Record<string, { string_value: string }> = {};
    for (const [k, v] of Object.entries(req.metadata)) fields[k] = { string_value: v };
    msg.metadata = { fields };
  }
  const RequestType = messageTypes().request;
  return Buffer.from(RequestType.encode(RequestType.fromObject(msg)).finish());
}

/**
 * Decodes a request (the fake CA in tests uses this). Non-string Struct values are kept as their
 * JSON text so a test can still see that something unexpected was sent. Throws on malformed bytes.
 */
export function decodeCertificateRequest(bytes: Uint8Array): IstioCertificateRequest {
  const RequestType = messageTypes().request;
  const obj = RequestType.toObject(RequestType.decode(bytes), { longs: Number }) as {
    csr?: string;
    validity_duration?: number;
    metadata?: { fields?: Record<string, Record<string, unknown>> };
  };
  // proto3: absent scalars are their zero value; an absent message stays absent.
  const out: { csr: string; validityDurationSeconds: number; metadata?: Record<string, string> } = {
    csr: obj.csr ?? '',
    validityDurationSeconds: obj.validity_duration ?? 0,
  };
  if (obj.metadata !== undefined && obj.metadata !== null) {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj.metadata.fields ?? {})) {
      metadata[k] = typeof v.string_value === 'string' ? v.string_value : JSON.stringify(v);
    }
    out.metadata = metadata;
  }
  return out;
}

export function encodeCertificateResponse(res: IstioCertificateResponse): Buffer {
  const ResponseType = messageTypes().response;
  return Buffer.from(ResponseType.encode(ResponseType.fromObject({ cert_chain: [...res.certChain] })).finish());
}

/** Throws on malformed bytes (grpc-js turns a throwing deserializer into an INTERNAL status). */
export function decodeCertificateResponse(bytes: Uint8Array): IstioCertificateResponse {
  const ResponseType = messageTypes().response;
  const obj = ResponseType.toObject(ResponseType.decode(bytes)) as { cert_chain?: string[] };
  return { certChain: obj.cert_chain ?? [] };
}
