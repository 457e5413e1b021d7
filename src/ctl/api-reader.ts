// Reads the APIs `ambit ctl` shows: an admin /config_dump and /debug/<view>, ambit control's
// /debug/resources. Tells apart: not Ambit at all (what it looked like), an older or newer Ambit
// (which fields are missing, which admin API version is needed), and answers that are not JSON.

import { ADMIN_API_HEADER, ADMIN_API_VERSION, AMBIT_VERSION } from '../admin/index.js';
import { MeshError } from '../common/errors.js';
import { describeAnswer, probeKnownPort, recognise, type AdminAnswer, type AdminClient } from './admin-client.js';
import {
  certificateProblems,
  fieldProblems,
  isRecord,
  POLICY_FIELDS,
  SERVICE_FIELDS,
  WORKLOAD_FIELDS,
  type DumpCertificate,
  type MeshView,
} from './dump-schema.js';

export type DumpSection = 'workloads' | 'services' | 'policies' | 'certificates';

export interface AgentDump extends MeshView {
  readonly certificates: readonly DumpCertificate[];
  /** `version.ambit` as reported. */
  readonly ambit: string;
  /** `version.adminApi`; 0 for builds before it was reported. */
  readonly adminApi: number;
  /** The whole dump (for -o json of sections ambit ctl does not model, e.g. a waypoint's `proxy`). */
  readonly raw: Readonly<Record<string, unknown>>;
}

const SECTION_CHECKS: Readonly<Record<DumpSection, (v: unknown) => string[]>> = {
  workloads: (v) => fieldProblems(v, 'workloads', WORKLOAD_FIELDS),
  services: (v) => fieldProblems(v, 'services', SERVICE_FIELDS),
  policies: (v) => fieldProblems(v, 'policies', POLICY_FIELDS),
  certificates: (v) => certificateProblems(v),
};

function parseJson(client: AdminClient, path: string, a: AdminAnswer): unknown {
  try {
    return JSON.parse(a.body) as unknown;
  } catch {
    const seen = recognise(a);
    throw new MeshError('CTL_BAD_ANSWER', `${client.who} answered ${path} with ${describeAnswer(a)}: that is not JSON${seen ? `; it looks like ${seen}` : ''}`);
  }
}

async function notAmbit(client: AdminClient, path: string, a: AdminAnswer, what: string): Promise<MeshError> {
  const seen = recognise(a) ?? (a.status === 404 ? await probeKnownPort(client) : undefined);
  return new MeshError('CTL_NOT_AMBIT', `${client.address} is not ${what}: GET ${path} answered ${describeAnswer(a)}${seen ? `. It looks like ${seen}` : ''}`);
}

/** The version-skew message: which side is older and what is needed. */
export function skew(client: AdminClient, ambit: string, adminApi: number, lacks: string): MeshError {
  const reports = `it reports Ambit ${ambit || '(unknown)'}, admin API ${adminApi}`;
  if (adminApi > ADMIN_API_VERSION) {
    return new MeshError('CTL_VERSION_SKEW', `${client.who} ${lacks}; ${reports}, newer than this ambit ctl (admin API ${ADMIN_API_VERSION}): use the ambit ctl of its release`);
  }
  return new MeshError(
    'CTL_VERSION_SKEW',
    `${client.who} ${lacks}; ${reports}. This ambit ctl needs admin API ${ADMIN_API_VERSION} (Ambit ${AMBIT_VERSION} with \`ambit ctl\`, or later): upgrade that process, or use the ambit ctl of its release`,
  );
}

export class ApiReader {
  constructor(readonly client: AdminClient) {}

  /** GET /config_dump of a node agent or waypoint; the sections named must have the fields ambit ctl reads. */
  async configDump(sections: readonly DumpSection[]): Promise<AgentDump> {
    const path = '/config_dump';
    const a = await this.client.get(path);
    const what = 'an Ambit admin API (node agent or waypoint)';
    if (a.status !== 200) throw await notAmbit(this.client, path, a, what);
    const dump = parseJson(this.client, path, a);
    if (!isRecord(dump) || !isRecord(dump.version)) throw await notAmbit(this.client, path, a, what);
    if (typeof dump.version.ambit !== 'string') {
      const ztunnelLike = Array.isArray(dump.workloads) || isRecord(dump.workloads);
      throw new MeshError(
        'CTL_NOT_AMBIT',
        `${this.client.address} answered ${path} with a config dump whose version has no "ambit" field: it is not an Ambit process` +
          (ztunnelLike ? ' (ztunnel? read it with istioctl ztunnel-config)' : ''),
      );
    }
    const ambit = dump.version.ambit;
    const adminApi = typeof dump.version.adminApi === 'number' ? dump.version.adminApi : 0;
    const problems = sections.flatMap((s) => SECTION_CHECKS[s](dump[s]));
    if (problems.length > 0) {
      const lacks = `answered a /config_dump without fields this ambit ctl reads: ${problems.join(', ')}`;
      if (adminApi !== ADMIN_API_VERSION) throw skew(this.client, ambit, adminApi, lacks);
      throw new MeshError('CTL_BAD_ANSWER', `${this.client.who} ${lacks}, although it reports the same admin API (${adminApi}) as this ambit ctl`);
    }
    const list = <T>(k: string): T[] => (Array.isArray(dump[k]) ? (dump[k] as T[]) : []);
    return { workloads: list('workloads'), services: list('services'), policies: list('policies'), certificates: list('certificates'), ambit, adminApi, raw: dump };
  }

  /** GET /debug/resources of `ambit control`: the cluster-wide workloads, services and policies it serves. */
  async controlResources(): Promise<MeshView & { readonly raw: Readonly<Record<string, unknown>> }> {
    const path = '/debug/resources';
    const a = await this.client.get(path);
    const what = "ambit control's monitoring port";
    if (a.status !== 200) throw await notAmbit(this.client, path, a, what);
    const body = parseJson(this.client, path, a);
    if (!isRecord(body) || !('objectsVersion' in body) || !Array.isArray(body.problems)) throw await notAmbit(this.client, path, a, what);
    const problems = [
      ...fieldProblems(body.workloads, 'workloads', WORKLOAD_FIELDS),
      ...fieldProblems(body.services, 'services', SERVICE_FIELDS),
      ...fieldProblems(body.policies, 'policies', POLICY_FIELDS),
    ];
    if (problems.length > 0) throw new MeshError('CTL_VERSION_SKEW', `${this.client.who} answered ${path} without fields this ambit ctl reads: ${problems.join(', ')}; run an ambit control of this ambit ctl's release (Ambit ${AMBIT_VERSION})`);
    return { workloads: body.workloads as MeshView['workloads'], services: body.services as MeshView['services'], policies: body.policies as MeshView['policies'], raw: body };
  }

  /**
   * GET /debug/<view> of a node agent (admin API 1). A 400 is the query's fault (CTL_USAGE with the
   * agent's reason); a 404 is resolved by reading /config_dump: an older Ambit (version skew), a
   * waypoint's admin port, or not Ambit at all.
   */
  async debugView(view: string, query: Readonly<Record<string, string>> = {}): Promise<Record<string, unknown>> {
    const qs = new URLSearchParams(query).toString();
    const path = `/debug/${view}${qs ? `?${qs}` : ''}`;
    const a = await this.client.get(path);
    if (a.status === 200) {
      const body = parseJson(this.client, path, a);
      if (!isRecord(body)) throw new MeshError('CTL_BAD_ANSWER', `${this.client.who} answered ${path} with JSON that is not an object`);
      return body;
    }
    if (a.status === 400 && a.headers[ADMIN_API_HEADER] !== undefined) {
      const body = parseJson(this.client, path, a);
      const message = isRecord(body) && isRecord(body.error) && typeof body.error.message === 'string' ? body.error.message : a.body.trim();
      throw new MeshError('CTL_USAGE', `${view}: ${message}`);
    }
    if (a.status !== 404) throw new MeshError('CTL_BAD_ANSWER', `${this.client.who} answered ${path} with ${describeAnswer(a)}`);
    // 404: which process is this? Its dump says (and an older Ambit has one without the view).
    const dump = await this.configDump([]);
    if (isRecord(dump.raw.waypoint)) {
      const wp = dump.raw.waypoint;
      throw new MeshError('CTL_NOT_AMBIT', `${this.client.address} is the admin API of waypoint ${String(wp.namespace)}/${String(wp.name)}, not of a node agent: /debug/${view} is a node agent's (use --node-agent)`);
    }
    throw skew(this.client, dump.ambit, dump.adminApi, `has no /debug/${view}`);
  }
}
