// The parts of the admin /config_dump and `ambit control` /debug/resources that `ambit ctl` reads,
// as types, and the check that an answer has them (a missing field names its path).

/** A GatewayAddress as dumped (src/state/types.ts). */
export interface DumpGateway {
  readonly destination?: {
    readonly kind?: string;
    readonly network?: string;
    readonly ip?: string;
    readonly namespace?: string;
    readonly hostname?: string;
  };
  readonly hboneMtlsPort?: number;
}

export interface DumpWorkload {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly workloadIps: readonly string[];
  readonly node: string;
  readonly protocol: string;
  readonly network?: string;
  readonly waypoint?: DumpGateway;
  /** `namespace/hostname` → { servicePort: targetPort }. */
  readonly services?: Readonly<Record<string, unknown>>;
  readonly status?: string;
}

export interface DumpService {
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  readonly vips: readonly { readonly network?: string; readonly ip: string }[];
  readonly ports?: Readonly<Record<string, number>>;
  readonly waypoint?: DumpGateway;
}

export interface DumpPolicy {
  readonly name: string;
  readonly namespace: string;
  readonly action: string;
  readonly scope: string;
  readonly dryRun?: boolean;
}

/** One certificate of a chain (ztunnel's dump form). */
export interface DumpCert {
  readonly serialNumber: string;
  /** RFC 3339. */
  readonly validFrom: string;
  readonly expirationTime: string;
}

export interface DumpCertificate {
  readonly identity: string;
  /** Initializing | Available | Unavailable: <reason>. */
  readonly state: string;
  readonly certChain: readonly DumpCert[];
  readonly rootCerts: readonly DumpCert[];
}

/** The mesh as one process sees it: a node agent's or waypoint's dump, or the control plane's translation. */
export interface MeshView {
  readonly workloads: readonly DumpWorkload[];
  readonly services: readonly DumpService[];
  readonly policies: readonly DumpPolicy[];
}

type FieldType = 'string' | 'number' | 'boolean' | 'array' | 'object';
type Fields = Readonly<Record<string, FieldType>>;

export const WORKLOAD_FIELDS: Fields = { uid: 'string', name: 'string', namespace: 'string', workloadIps: 'array', node: 'string', protocol: 'string' };
export const SERVICE_FIELDS: Fields = { name: 'string', namespace: 'string', hostname: 'string', vips: 'array' };
export const POLICY_FIELDS: Fields = { name: 'string', namespace: 'string', action: 'string', scope: 'string' };
export const CERTIFICATE_FIELDS: Fields = { identity: 'string', state: 'string', certChain: 'array', rootCerts: 'array' };
export const CERT_FIELDS: Fields = { serialNumber: 'string', validFrom: 'string', expirationTime: 'string' };

function typeOf(v: unknown): FieldType | 'null' | 'undefined' | string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Problems of `list` as `path[i].field` strings (at most `limit`): the list itself missing or not a
 * list, an item not an object, a field missing or of another type.
 */
export function fieldProblems(list: unknown, path: string, fields: Fields, limit = 5): string[] {
  if (!Array.isArray(list)) return [`${path} (${list === undefined ? 'missing' : `a ${typeOf(list)}, not a list`})`];
  const out: string[] = [];
  for (let i = 0; i < list.length && out.length < limit; i++) {
    const item: unknown = list[i];
    if (!isRecord(item)) {
      out.push(`${path}[${i}] (a ${typeOf(item)}, not an object)`);
      continue;
    }
    for (const [field, want] of Object.entries(fields)) {
      const got = typeOf(item[field]);
      if (got !== want) out.push(`${path}[${i}].${field} (${got === 'undefined' ? 'missing' : `a ${got}, not a ${want}`})`);
      if (out.length >= limit) break;
    }
  }
  return out;
}

/** Problems of the certificates section, its chains included. */
export function certificateProblems(list: unknown): string[] {
  const top = fieldProblems(list, 'certificates', CERTIFICATE_FIELDS);
  if (top.length > 0 || !Array.isArray(list)) return top;
  return list.flatMap((c: Record<string, unknown>, i) => [
    ...fieldProblems(c.certChain, `certificates[${i}].certChain`, CERT_FIELDS),
    ...fieldProblems(c.rootCerts, `certificates[${i}].rootCerts`, CERT_FIELDS),
  ]).slice(0, 5);
}
