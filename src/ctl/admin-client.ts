// HTTP GETs against an admin or monitoring port for `ambit ctl`, and errors a person can act on:
// nothing listening (with what to check and the port-forward to run), no HTTP there, no JSON.

import { request } from 'node:http';
import { MeshError } from '../common/errors.js';
import { formatAddress, type CtlTarget, type TargetKind } from './ctl-args.js';

/** Bodies past this are refused: a config dump of a big mesh is a few MiB. */
const MAX_BODY_BYTES = 256 * 1024 * 1024;

export interface AdminAnswer {
  readonly status: number;
  readonly statusText: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

const WHO: Readonly<Record<TargetKind, string>> = {
  'node-agent': 'the node agent admin API',
  waypoint: 'the waypoint admin API',
  control: "ambit control's monitoring port",
};

/** What to check when the address cannot be reached, per kind of process. */
const HINTS: Readonly<Record<TargetKind, string>> = {
  'node-agent':
    'Is `ambit node` running there? Its admin API listens on AMBIT_ADMIN_BIND_ADDRESS:AMBIT_PORT_ADMIN (127.0.0.1:15000 by default: loopback only, ' +
    'so run ambit ctl on that host). In Kubernetes, forward it first: kubectl -n ambit-system port-forward pod/<ambit-node pod on the node> 15000:15000, ' +
    'then --node-agent 127.0.0.1:15000.',
  waypoint:
    'Is `ambit waypoint` running there? Its admin API listens on AMBIT_ADMIN_BIND_ADDRESS:AMBIT_PORT_ADMIN (127.0.0.1:15000 by default, loopback only). ' +
    'In Kubernetes, forward it first: kubectl -n <namespace> port-forward deploy/<waypoint> 15000:15000, then --waypoint 127.0.0.1:15000.',
  control:
    'Is `ambit control` running there? Its monitoring port is AMBIT_BIND_ADDRESS:AMBIT_PORT_MONITORING (15014 by default). ' +
    'In Kubernetes, forward it first: kubectl -n <namespace> port-forward deploy/<ambit control> 15014:15014, then --control 127.0.0.1:15014.',
};

/** The one line saying why the connection failed, from the socket error. */
function connectFailure(err: NodeJS.ErrnoException, addr: string, timeoutMs: number): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `nothing is listening at ${addr} (connection refused)`;
    case 'ETIMEDOUT':
      return `no answer from ${addr} within ${timeoutMs} ms`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${addr} is unreachable from here (${err.code})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host of ${addr} (${err.code})`;
    case 'EADDRNOTAVAIL':
      return `${addr} is not an address this host can connect to (${err.code})`;
    case 'ECONNRESET':
      return `${addr} closed the connection without an HTTP answer: it is not an HTTP port (a TLS port such as HBONE 15008 or xDS 15012 does this)`;
    default:
      if (err.code?.startsWith('HPE_')) return `${addr} answered something that is not HTTP/1.1 (${err.code}): it is not an admin or monitoring port`;
      return `cannot reach ${addr}: ${err.code ?? err.message}`;
  }
}

export class AdminClient {
  readonly address: string;

  constructor(
    readonly target: CtlTarget,
    private readonly timeoutMs: number,
  ) {
    this.address = formatAddress(target);
  }

  /** Who is asked, for messages: `the node agent admin API at 127.0.0.1:15000`. */
  get who(): string {
    return `${WHO[this.target.kind]} at ${this.address}`;
  }

  /** One GET; any status is an answer. Throws CTL_UNREACHABLE when there is no HTTP answer at all. */
  get(path: string): Promise<AdminAnswer> {
    return new Promise((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException): void => {
        const code = err.code === 'ECONNRESET' || err.code?.startsWith('HPE_') ? 'CTL_NOT_AMBIT' : 'CTL_UNREACHABLE';
        const hint = code === 'CTL_UNREACHABLE' ? ` ${HINTS[this.target.kind]}` : ` Point ambit ctl at ${WHO[this.target.kind]}.`;
        reject(new MeshError(code, `cannot read ${WHO[this.target.kind]}: ${connectFailure(err, this.address, this.timeoutMs)}.${hint}`, { cause: err }));
      };
      const req = request({ host: this.target.host, port: this.target.port, path, method: 'GET', headers: { accept: 'application/json' }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy();
            reject(new MeshError('CTL_BAD_ANSWER', `${this.who} answered ${path} with more than ${MAX_BODY_BYTES} bytes; refusing to read it`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err: NodeJS.ErrnoException) => fail(err));
        res.on('end', () => {
          const headers: Record<string, string | undefined> = {};
          for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', fail);
      req.end();
    });
  }
}

/** What an answer looked like, for "this is not the API you want" messages. */
export function describeAnswer(a: AdminAnswer): string {
  const parts = [`HTTP ${a.status}${a.statusText ? ` ${a.statusText}` : ''}`];
  if (a.headers['content-type']) parts.push(`content-type ${a.headers['content-type']}`);
  if (a.headers['server']) parts.push(`server ${a.headers['server']}`);
  const text = a.body.replace(/\s+/g, ' ').trim();
  parts.push(text === '' ? 'empty body' : `body "${text.length > 80 ? `${text.slice(0, 80)}…` : text}"`);
  return parts.join(', ');
}

/** A guess at which known port answered, from the answer's look (undefined when nothing fits). */
export function recognise(a: AdminAnswer): string | undefined {
  if (a.headers['x-ambit-admin-api'] !== undefined) return 'an Ambit admin port (node agent or waypoint: use --node-agent or --waypoint)';
  if (a.body.startsWith('see /metrics, /ready, /debug/adsz')) return "ambit control's monitoring port (use --control)";
  if (/^# (HELP|TYPE) /m.test(a.body)) return 'a Prometheus metrics port (15020?)';
  return undefined;
}

/**
 * When the answer itself says nothing, asks the two other ports an agent has for what they serve:
 * readiness (GET /healthz/ready → ready / not ready / draining) and metrics (GET /metrics).
 */
export async function probeKnownPort(client: AdminClient): Promise<string | undefined> {
  try {
    const ready = await client.get('/healthz/ready');
    if (/^(ready|draining|not ready, pending: .*)\n$/.test(ready.body)) return 'a readiness port (15021?): it answers /healthz/ready';
    const metrics = await client.get('/metrics');
    if (metrics.status === 200 && /^# (HELP|TYPE) /m.test(metrics.body)) return 'a Prometheus metrics port (15020?): it answers /metrics';
  } catch {
    // The first answer is what the error reports; a failed probe adds nothing.
  }
  return undefined;
}
