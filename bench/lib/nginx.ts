// Debian's nginx as a plain HTTP/1.1 reverse proxy for the bench: one worker, upstream keep-alive,
// no access log, errors at warn; config, pid and temp files in a private directory of the run.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshError } from '../../src/common/errors.js';
import { runHere, spawnTool, tail, type RunIn, type ToolProcess } from './run-in.js';

/** The nginx binary of Debian's nginx / nginx-light packages. */
export const NGINX_BIN = '/usr/sbin/nginx';

/** error_log level: warnings and errors, no line per request (nginx's default is `error`; access_log is off). */
export const BENCH_NGINX_LOG_LEVEL = 'warn';

/**
 * Idle upstream connections each worker keeps (ngx_http_upstream_module `keepalive`): above the
 * bench's 16 concurrent keep-alive clients, so a steady load never closes an upstream connection.
 */
export const BENCH_NGINX_UPSTREAM_KEEPALIVE = 64;

/**
 * nginx's default `keepalive_requests` (1000 since 1.19.10, both for client connections and, in an
 * upstream block, for upstream ones): after that many requests nginx closes the connection and the
 * next request opens a new one, i.e. one TCP handshake per 1000 requests. Left at the default.
 */
export const NGINX_KEEPALIVE_REQUESTS = 1000;

export interface NginxOptions {
  /** `host:port` to listen on (HTTP/1.1, plaintext). */
  readonly listen: string;
  /** `host:port` of the app (the upstream). */
  readonly upstream: string;
  /**
   * `worker_processes` (default 1): the bench compares one core of nginx with one Node event loop
   * (a waypoint, an agent without --workers); `auto` is one worker per core.
   */
  readonly workers?: number | 'auto';
  /** Parent of the private directory for config, pid and temp files (default the system temp dir). */
  readonly filesParentDir?: string;
}

/**
 * The whole nginx.conf. Beyond what the bench needs (listen, upstream with keep-alive, HTTP/1.1
 * upstream with `Connection: ""` so the upstream connection is reused, see the nginx docs of
 * `keepalive`), every setting is nginx's default, except capacity: worker_connections 16384, since
 * the idle-memory step holds 5,000 client connections through it (the descriptor limit is the one
 * nginx inherits: the bench starts every pod process with a raised RLIMIT_NOFILE, BENCH_NOFILE).
 * All paths are absolute under `dir`, so nothing of the system's /var/lib/nginx or /run is touched.
 */
export function nginxConfig(opts: NginxOptions, dir: string): string {
  return [
    '# written by bench/lib/nginx.ts',
    'daemon off;',
    `worker_processes ${opts.workers ?? 1};`,
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log stderr ${BENCH_NGINX_LOG_LEVEL};`,
    'events {',
    '    worker_connections 16384;',
    '}',
    'http {',
    '    access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, `${t}-temp`)};`),
    '    upstream bench_app {',
    `        server ${opts.upstream};`,
    `        keepalive ${BENCH_NGINX_UPSTREAM_KEEPALIVE};`,
    '    }',
    '    server {',
    `        listen ${opts.listen} backlog=4096;`,
    '        location / {',
    '            proxy_pass http://bench_app;',
    '            proxy_http_version 1.1;',
    '            proxy_set_header Connection "";',
    '        }',
    '    }',
    '}',
    '',
  ].join('\n');
}

/** Pids of the live children of `parent` (from /proc/<pid>/stat, field 4), oldest first. */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // After the last ')' (comm may hold spaces): state, then ppid.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One nginx master with its worker(s). */
export class NginxProxy {
  private proc: ToolProcess | null = null;
  private dir: string | null = null;
  private workerPids: number[] = [];

  constructor(
    readonly opts: NginxOptions,
    private readonly runIn: RunIn = runHere,
  ) {}

  /** The master's pid (see the RunIn invariant); -1 before start(). */
  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  /**
   * The worker processes: they do all the proxying (the master only reads the config and forks),
   * so CPU and RSS are sampled on them. Valid after start().
   */
  get workers(): readonly number[] {
    return this.workerPids;
  }

  /** nginx's stderr so far (the error log at warn). */
  log(): string {
    return this.proc?.output() ?? '';
  }

  /**
   * Writes the files and starts nginx in the foreground; resolves once every worker is forked. The
   * master binds its listeners before forking, so from then on connections are accepted.
   */
  async start(timeoutMs = 10_000): Promise<void> {
    this.dir = mkdtempSync(join(this.opts.filesParentDir ?? tmpdir(), 'ambit-nginx-'));
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(this.dir, `${t}-temp`));
    const conf = join(this.dir, 'nginx.conf');
    writeFileSync(conf, nginxConfig(this.opts, this.dir));
    // -e stderr: the start-up error log too (before the config is read) goes to our pipe, not /var/log/nginx.
    this.proc = spawnTool(this.runIn, [NGINX_BIN, '-p', `${this.dir}/`, '-c', conf, '-e', 'stderr']);
    const want = this.opts.workers === 'auto' || this.opts.workers === undefined ? 1 : this.opts.workers;
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        const exited = await Promise.race([this.proc.exited.then(() => true), sleep(50).then(() => false)]);
        if (exited) throw new MeshError('BENCH_TOOL', `nginx exited at start: ${tail(this.proc.output())}`);
        this.workerPids = childPids(this.proc.pid);
        if (this.workerPids.length >= want) return;
        if (Date.now() > deadline) throw new MeshError('BENCH_TOOL', `nginx forked no worker within ${timeoutMs} ms: ${tail(this.proc.output())}`);
      }
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /**
   * SIGTERM (nginx's fast shutdown: the master stops its workers and exits), then the files. A
   * worker outlives a master killed with SIGKILL, so any worker still there is killed as well.
   */
  async close(): Promise<void> {
    await this.proc?.stop();
    this.killWorkers();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  destroy(): void {
    this.proc?.child.kill('SIGKILL');
    this.killWorkers();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private killWorkers(): void {
    for (const pid of this.workerPids) {
      try {
        // Only a process still named nginx: the pid of a worker that did exit may be reused.
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nginx') process.kill(pid, 'SIGKILL');
      } catch {
        // already gone (the usual case: the master stopped it)
      }
    }
    this.workerPids = [];
  }
}

/** Starts nginx (see NginxProxy.start). */
export async function startNginx(runIn: RunIn, opts: NginxOptions): Promise<NginxProxy> {
  const n = new NginxProxy(opts, runIn);
  await n.start();
  return n;
}
