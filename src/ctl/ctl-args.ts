// The `ambit ctl` command line: the subcommand, which process to ask (a node agent's or a waypoint's
// admin port, or `ambit control`'s monitoring port), the output format and the filters.

import { isIP } from 'node:net';
import { MeshError } from '../common/errors.js';
import { parseDurationMs } from '../config/index.js';

export const CTL_COMMANDS = ['workloads', 'services', 'policies', 'certificates', 'connections', 'all', 'explain', 'routes'] as const;
export type CtlCommand = (typeof CTL_COMMANDS)[number];
export type OutputFormat = 'table' | 'json' | 'yaml';

/** Which API is read: an admin port (node agent, waypoint: /config_dump, /debug/*) or ambit control's /debug/resources. */
export type TargetKind = 'node-agent' | 'waypoint' | 'control';

export interface AdminAddress {
  readonly host: string;
  readonly port: number;
}

export interface CtlTarget extends AdminAddress {
  readonly kind: TargetKind;
}

export interface CtlArgs {
  readonly command: CtlCommand | 'help';
  readonly target: CtlTarget;
  readonly output: OutputFormat;
  /** Only objects of this namespace (workloads, services, policies, connections, routes). */
  readonly namespace: string | undefined;
  /** explain: `<namespace>/<pod>` or an IP. */
  readonly from: string | undefined;
  /** explain: `<host>:<port>`. */
  readonly to: string | undefined;
  /** connections: addresses as they are, not named after services and workloads. */
  readonly raw: boolean;
  /** Per HTTP request, ms. */
  readonly timeoutMs: number;
}

/** Ports of the APIs read: ztunnel's admin port, istiod's monitoring port. */
export const DEFAULT_PORTS: Readonly<Record<TargetKind, number>> = { 'node-agent': 15000, waypoint: 15000, control: 15014 };
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_TIMEOUT_MS = 5_000;

function usage(message: string): MeshError {
  return new MeshError('CTL_USAGE', message);
}

/**
 * `host:port`, `host` (default port), `:port` (127.0.0.1), `[v6]:port`, a bare IPv6 address, or
 * the same behind `http://` (admin and monitoring ports speak plain HTTP; a path is not allowed).
 */
export function parseAddress(text: string, defaultPort: number, flag: string): AdminAddress {
  let t = text.trim();
  if (/^https:\/\//i.test(t)) throw usage(`${flag} ${text}: admin and monitoring ports speak plain HTTP; give host:port`);
  t = t.replace(/^http:\/\//i, '').replace(/\/$/, '');
  if (t === '' || t.includes('/')) throw usage(`${flag} "${text}": expected host:port, e.g. 127.0.0.1:${defaultPort}`);
  if (isIP(t) === 6) return { host: t, port: defaultPort };
  let host = t;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(t);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
    if (isIP(host) !== 6) throw usage(`${flag} "${text}": [${host}] is not an IPv6 address`);
  } else if (t.includes(':')) {
    const colon = t.lastIndexOf(':');
    host = t.slice(0, colon) || DEFAULT_HOST;
    portText = t.slice(colon + 1);
    if (host.includes(':')) throw usage(`${flag} "${text}": write an IPv6 address in brackets, e.g. [::1]:${defaultPort}`);
  }
  if (portText === undefined) return { host, port: defaultPort };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535) throw usage(`${flag} "${text}": port "${portText}" is not 1-65535`);
  return { host, port };
}

/** `host:port` / `[v6]:port` for messages. */
export function formatAddress(a: AdminAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Flags taking a value; `-o x`, `-o=x`, `--output x`, `--output=x` all work. */
const VALUE_FLAGS: Readonly<Record<string, string>> = {
  '--node-agent': 'node-agent',
  '--control': 'control',
  '--waypoint': 'waypoint',
  '-o': 'output',
  '--output': 'output',
  '-n': 'namespace',
  '--namespace': 'namespace',
  '--from': 'from',
  '--to': 'to',
  '--timeout': 'timeout',
};

/** What each command can read; the reason is the usage error for the others. */
const NOT_FROM: Readonly<Record<TargetKind, Partial<Record<CtlCommand, string>>>> = {
  control: {
    certificates: 'certificates are held by each node agent: use --node-agent ADDR',
    connections: 'connections are tracked by each node agent: use --node-agent ADDR',
    explain: 'explain runs on a node agent (its routing and policy code on its live state): use --node-agent ADDR',
    routes: 'routes are a waypoint\'s: use --waypoint ADDR',
  },
  waypoint: {
    connections: 'connections are tracked by node agents: use --node-agent ADDR',
    explain: 'explain runs on a node agent: use --node-agent ADDR',
  },
  'node-agent': {
    routes: 'routes reads a waypoint\'s admin API: use --waypoint ADDR (its admin port, 15000 by default)',
  },
};

export function parseCtlArgs(argv: readonly string[]): CtlArgs {
  const values: Record<string, string> = {};
  const positional: string[] = [];
  let help = false;
  let raw = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help' || arg === 'help') {
      help = true;
      continue;
    }
    if (arg === '--raw') {
      raw = true;
      continue;
    }
    const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = VALUE_FLAGS[name];
    if (key !== undefined) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw usage(`${name} needs a value`);
      if (values[key] !== undefined) throw usage(`${name} given twice`);
      values[key] = value;
      continue;
    }
    if (arg.startsWith('-')) throw usage(`unknown flag ${name}; see ambit ctl --help`);
    positional.push(arg);
  }
  const [command, ...extra] = positional;
  if (help || command === undefined) return defaults('help');
  if (!(CTL_COMMANDS as readonly string[]).includes(command)) throw usage(`unknown command "${command}"; one of: ${CTL_COMMANDS.join(', ')}`);
  if (extra.length > 0) throw usage(`unexpected argument "${extra[0]}" after ${command}`);
  const cmd = command as CtlCommand;

  const kinds = (['node-agent', 'control', 'waypoint'] as const).filter((k) => values[k] !== undefined);
  if (kinds.length > 1) throw usage(`--${kinds[0]} and --${kinds[1]} both given: ask one process at a time`);
  const kind: TargetKind = kinds[0] ?? (cmd === 'routes' ? 'waypoint' : 'node-agent');
  const refusal = NOT_FROM[kind][cmd];
  if (refusal !== undefined) throw usage(`${cmd}: ${refusal}`);
  const address = values[kind] === undefined ? { host: DEFAULT_HOST, port: DEFAULT_PORTS[kind] } : parseAddress(values[kind], DEFAULT_PORTS[kind], `--${kind}`);

  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json' && output !== 'yaml') throw usage(`-o ${output}: one of table, json, yaml`);
  if (cmd !== 'explain' && (values.from !== undefined || values.to !== undefined)) throw usage('--from and --to are for explain');
  if (cmd === 'explain' && (values.from === undefined || values.to === undefined)) {
    throw usage('explain needs --from <namespace>/<pod>|<ip> and --to <host>:<port>');
  }
  if (values.namespace !== undefined && (values.namespace === '' || cmd === 'explain')) {
    throw usage(cmd === 'explain' ? '--namespace does not apply to explain (--from names the pod)' : '--namespace needs a namespace');
  }
  if (raw && cmd !== 'connections' && cmd !== 'all') throw usage('--raw is for connections');
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    const ms = parseDurationMs(values.timeout);
    if (ms === undefined || ms <= 0) throw usage(`--timeout ${values.timeout}: a duration such as 5s or 500ms`);
    timeoutMs = ms;
  }
  return { command: cmd, target: { kind, ...address }, output, namespace: values.namespace, from: values.from, to: values.to, raw, timeoutMs };
}

function defaults(command: 'help'): CtlArgs {
  return {
    command,
    target: { kind: 'node-agent', host: DEFAULT_HOST, port: DEFAULT_PORTS['node-agent'] },
    output: 'table',
    namespace: undefined,
    from: undefined,
    to: undefined,
    raw: false,
    timeoutMs: DEFAULT_TIMEOUT_MS,
  };
}
