// The admin endpoint (ztunnel port 15000, localhost only): `/` index, `/config_dump`, `/logging`,
// `/quitquitquit` and read-only `/debug/<view>`s. State comes in through callbacks so admin never
// reaches into other modules.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { isMeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { HttpEndpoint, pathOf, reply } from '../metrics/index.js';
import { ADMIN_API_HEADER, ADMIN_API_VERSION } from './admin-api.js';
import { LOGGING_HELP, LogLevels } from './log-levels.js';

/**
 * A read-only JSON view at GET /debug/<name>: gets the query string, answers the body (serialised
 * like /config_dump). Throwing a MeshError with code ADMIN_QUERY_INVALID answers 400 with its message.
 */
export type DebugView = (query: URLSearchParams) => unknown;

export interface DebugViewSpec {
  readonly view: DebugView;
  /** One line for the `/` index. */
  readonly description: string;
}

export interface AdminServerOptions {
  /** MUST be a loopback address: the admin API can shut the proxy down and change log levels. */
  readonly host: string;
  readonly port: number;
  /** Root logger: `/logging?level=<lvl>` sets its level; also used for the server's own logs. */
  readonly logger: Logger;
  /** Access-log logger, target `access` on /logging. */
  readonly accessLogger?: Logger;
  /** Sets the level of another named target; false = unknown target (400). */
  readonly setLevel?: (target: string, level: string) => boolean;
  /** Restores other targets on `/logging?reset`. */
  readonly resetLevels?: () => void;
  /**
   * The dump body. Missing top-level keys are filled with empty values so the document always has
   * workloads, services, policies, stagedServices, staticConfig, version, config, certificates.
   */
  readonly configDump: () => Record<string, unknown>;
  /** Graceful shutdown request; called after the response has been written. */
  readonly onQuit: () => void;
  /**
   * Called after every /logging request that changed levels; the reply waits for it, so when the
   * caller sees 200 every worker thread logs at the new levels.
   */
  readonly onLevelsChanged?: () => Promise<void> | void;
  /** Read-only views served at GET /debug/<name> (e.g. `connections`, `explain`). */
  readonly debug?: Readonly<Record<string, DebugViewSpec>>;
}

const DUMP_DEFAULTS: Readonly<Record<string, unknown>> = {
  workloads: [],
  services: [],
  policies: [],
  stagedServices: {},
  staticConfig: {},
  version: {},
  config: {},
  certificates: [],
};

const ENDPOINTS: ReadonlyArray<readonly [string, string]> = [
  ['quitquitquit', 'shut down the server'],
  ['config_dump', 'dump the current Ztunnel configuration'],
  ['logging', 'query/changing logging levels'],
];

/** JSON for internal state: Maps become objects, Sets arrays, bigints strings. */
export function dumpJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), x]));
      if (v instanceof Set) return [...v];
      if (typeof v === 'bigint') return v.toString();
      return v;
    },
    2,
  );
}

function indexHtml(debug: Readonly<Record<string, DebugViewSpec>>): string {
  const all = [...ENDPOINTS, ...Object.entries(debug).map(([name, spec]) => [`debug/${name}`, spec.description] as const)];
  const rows = all.map(
    ([path, desc], i) =>
      `<tr class="${i % 2 === 1 ? 'gray' : 'vert-space'}"><td class="home-data"><a href="${path}">${path}</a></td><td class="home-data">${desc}</td></tr>`,
  ).join('\n');
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Ambit admin</title></head>
<body>
<table class="home-table">
<thead><th class="home-data">Command</th><th class="home-data">Description</th></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}

export class AdminServer extends HttpEndpoint {
  private readonly levels: LogLevels;

  constructor(private readonly options: AdminServerOptions) {
    super({ name: 'admin', host: options.host, port: options.port, logger: options.logger });
    this.levels = new LogLevels({
      root: options.logger,
      access: options.accessLogger,
      setLevel: options.setLevel,
      resetLevels: options.resetLevels,
    });
  }

  protected handle(req: IncomingMessage, res: ServerResponse): void | Promise<void> {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    const readOnly = method === 'GET' || method === 'HEAD';
    // On every answer (404s included): `ambit ctl` tells an Ambit admin port, and its version, by it.
    res.setHeader(ADMIN_API_HEADER, String(ADMIN_API_VERSION));
    if (path.startsWith('/debug/')) return this.debugView(req, res, path.slice('/debug/'.length), readOnly);
    switch (path) {
      case '/':
        if (!readOnly) return reply(res, 405, '');
        return reply(res, 200, indexHtml(this.options.debug ?? {}), 'text/html; charset=utf-8');
      case '/config_dump': {
        if (!readOnly) return reply(res, 405, '');
        const dump = { ...DUMP_DEFAULTS, ...this.options.configDump() };
        const version = typeof dump.version === 'object' && dump.version !== null ? dump.version : {};
        const body = dumpJson({ ...dump, version: { ...version, adminApi: ADMIN_API_VERSION } });
        return reply(res, 200, `${body}\n`, 'application/json');
      }
      case '/logging': {
        if (method !== 'POST') return reply(res, 405, `Invalid HTTP method\n ${LOGGING_HELP}`);
        const url = new URL(req.url ?? '/', 'http://admin');
        const result = this.levels.apply(url.searchParams);
        // Not `level`: pino would write it over the record's own numeric level.
        if (result.status !== 200) return reply(res, result.status, result.body);
        this.options.logger.info({ levels: this.levels.current() }, 'log level changed via admin');
        // The reply waits for the worker threads: a 200 means the new levels are in force everywhere.
        void Promise.resolve(this.options.onLevelsChanged?.()).then(
          () => reply(res, result.status, result.body),
          (err: unknown) => reply(res, 500, `log levels changed here but not confirmed by every worker: ${(err as Error).message}\n`),
        );
        return;
      }
      case '/quitquitquit':
        if (method !== 'POST') return reply(res, 405, '');
        reply(res, 200, 'shutdown now\n');
        this.options.logger.info('shutdown requested via admin /quitquitquit');
        // After the reply is on its way, so a graceful close of this server does not cut it off.
        setImmediate(() => this.options.onQuit());
        return;
      default:
        return reply(res, 404, '');
    }
  }

  private async debugView(req: IncomingMessage, res: ServerResponse, name: string, readOnly: boolean): Promise<void> {
    const spec = Object.hasOwn(this.options.debug ?? {}, name) ? this.options.debug?.[name] : undefined;
    if (spec === undefined) return reply(res, 404, '');
    if (!readOnly) return reply(res, 405, '');
    const query = new URL(req.url ?? '/', 'http://admin').searchParams;
    try {
      const body = await spec.view(query);
      reply(res, 200, `${dumpJson(body)}\n`, 'application/json');
    } catch (err) {
      if (isMeshError(err, 'ADMIN_QUERY_INVALID')) return reply(res, 400, `${dumpJson({ error: { code: err.code, message: err.message } })}\n`, 'application/json');
      this.options.logger.warn({ err, view: name }, 'admin debug view failed');
      reply(res, 500, `${dumpJson({ error: { code: isMeshError(err) ? err.code : 'INTERNAL', message: (err as Error).message } })}\n`, 'application/json');
    }
  }

  /** The current level string as /logging reports it, e.g. `info,access=debug`. */
  currentLogLevel(): string {
    return this.levels.current();
  }

}
