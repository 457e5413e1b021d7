// `ambit ctl`: parses the command line, reads the process asked (admin or monitoring API), and
// writes tables, JSON or YAML. Errors go to stderr as one actionable message; the exit status says
// whether the command line (2) or the process read (1) was at fault.

import { isMeshError, MeshError } from '../common/errors.js';
import { AdminClient } from './admin-client.js';
import { ApiReader, type AgentDump, type DumpSection } from './api-reader.js';
import { certificatesTable } from './certificates-view.js';
import { connectionsOf, connectionsTable, selectConnections, type ConnectionRow } from './connections-view.js';
import { parseCtlArgs, type CtlArgs, type OutputFormat } from './ctl-args.js';
import { CTL_USAGE } from './ctl-usage.js';
import { isRecord, type DumpCertificate, type MeshView } from './dump-schema.js';
import { explanationOf, renderExplanation } from './explain-view.js';
import { formatStructured } from './output-format.js';
import { policiesTable, selectPolicies } from './policies-view.js';
import { clustersTable, routesOf, routesTable } from './routes-view.js';
import { selectServices, servicesTable } from './services-view.js';
import { renderTable, type Table } from './table.js';
import { selectWorkloads, workloadsTable } from './workloads-view.js';

export interface CtlIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Clock for certificate validity, ms since the epoch; default Date.now. */
  readonly now?: () => number;
}

/** What a command prints: tables (table format) and the objects behind them (json / yaml). */
interface Result {
  readonly tables: readonly Table[];
  readonly data: unknown;
  /** Text instead of tables (explain). */
  readonly text?: string;
}

/** The sections each dump-based command reads (and so checks). */
const SECTIONS: Readonly<Record<string, readonly DumpSection[]>> = {
  workloads: ['workloads', 'services'],
  services: ['services', 'workloads'],
  policies: ['policies'],
  certificates: ['certificates'],
  connections: ['workloads', 'services'],
  all: ['workloads', 'services', 'policies', 'certificates'],
  routes: [],
};

function certificatesIn(certs: readonly DumpCertificate[], namespace: string | undefined): DumpCertificate[] {
  return certs.filter((c) => namespace === undefined || c.identity.includes(`/ns/${namespace}/sa/`)).sort((a, b) => a.identity.localeCompare(b.identity));
}

class CtlRun {
  private readonly reader: ApiReader;

  constructor(
    private readonly args: CtlArgs,
    private readonly io: CtlIo,
  ) {
    this.reader = new ApiReader(new AdminClient(args.target, args.timeoutMs));
  }

  private now(): number {
    return (this.io.now ?? Date.now)();
  }

  /** The mesh view: the control plane's translation, or the admin dump with the sections checked. */
  private async view(sections: readonly DumpSection[]): Promise<MeshView & { dump?: AgentDump }> {
    if (this.args.target.kind === 'control') return this.reader.controlResources();
    const dump = await this.reader.configDump(sections);
    return { ...dump, dump };
  }

  private async connections(): Promise<ConnectionRow[]> {
    return connectionsOf(await this.reader.debugView('connections'), this.reader.client.who);
  }

  async run(): Promise<Result> {
    const { command, namespace: ns } = this.args;
    switch (command) {
      case 'workloads': {
        const v = await this.view(SECTIONS.workloads!);
        return { tables: [workloadsTable(v, ns)], data: selectWorkloads(v, ns) };
      }
      case 'services': {
        const v = await this.view(SECTIONS.services!);
        return { tables: [servicesTable(v, ns)], data: selectServices(v, ns) };
      }
      case 'policies': {
        const v = await this.view(SECTIONS.policies!);
        return { tables: [policiesTable(v, ns)], data: selectPolicies(v, ns) };
      }
      case 'certificates': {
        const v = await this.view(SECTIONS.certificates!);
        const certs = certificatesIn(v.dump?.certificates ?? [], ns);
        return { tables: [certificatesTable(certs, this.now())], data: certs };
      }
      case 'connections': {
        // The view first: a 404 then says whether this is an older agent, a waypoint, or not Ambit.
        const rows = await this.connections();
        const v = await this.view(SECTIONS.connections!);
        return { tables: [connectionsTable(rows, v, ns, this.args.raw)], data: selectConnections(rows, v, ns) };
      }
      case 'all':
        return this.all();
      case 'explain': {
        const body = await this.reader.debugView('explain', { from: this.args.from ?? '', to: this.args.to ?? '' });
        const e = explanationOf(body, this.reader.client.who);
        return { tables: [], data: e, text: renderExplanation(e) };
      }
      case 'routes': {
        const dump = await this.reader.configDump([]);
        const r = routesOf(dump, this.reader.client);
        const services = r.services.filter((s) => ns === undefined || s.namespace === ns);
        const clusters = r.clusters.filter((c) => ns === undefined || c.namespace === ns);
        // The xDS resource version (or manifests hash) of the WaypointConfig in force.
        const applied = dump.raw.waypointConfig;
        const configVersion = isRecord(applied) && typeof applied.version === 'string' ? applied.version : undefined;
        const head = `waypoint ${r.waypoint ? `${r.waypoint.namespace}/${r.waypoint.name}` : '-'} (${r.identity ?? '-'}), WaypointConfig version ${configVersion ?? '-'}\n\n`;
        return {
          tables: [routesTable(r, ns), clustersTable(r, ns)],
          data: { waypoint: r.waypoint, identity: r.identity, configVersion, services, clusters },
          text: head,
        };
      }
      default:
        throw new MeshError('CTL_USAGE', `unknown command ${String(command)}`);
    }
  }

  private async all(): Promise<Result> {
    const ns = this.args.namespace;
    const v = await this.view(SECTIONS.all!);
    const tables = [workloadsTable(v, ns), servicesTable(v, ns), policiesTable(v, ns)];
    const data: Record<string, unknown> = { workloads: selectWorkloads(v, ns), services: selectServices(v, ns), policies: selectPolicies(v, ns) };
    if (v.dump) {
      const certs = certificatesIn(v.dump.certificates, ns);
      tables.push(certificatesTable(certs, this.now()));
      data.certificates = certs;
    }
    // Connections are a node agent's; an older agent without them still gets the rest, with a warning.
    if (this.args.target.kind === 'node-agent') {
      try {
        const rows = await this.connections();
        tables.push(connectionsTable(rows, v, ns, this.args.raw));
        data.connections = selectConnections(rows, v, ns);
      } catch (err) {
        if (!isMeshError(err, 'CTL_VERSION_SKEW')) throw err;
        this.io.stderr.write(`ambit ctl: connections left out: ${err.message}\n`);
      }
    }
    return { tables, data };
  }
}

function write(io: CtlIo, format: OutputFormat, r: Result): void {
  if (format !== 'table') {
    io.stdout.write(formatStructured(r.data, format));
    return;
  }
  if (r.text !== undefined) io.stdout.write(r.text);
  io.stdout.write(r.tables.map(renderTable).join('\n'));
}

/** Runs `ambit ctl <argv>`; resolves with the exit status. Never throws for expected failures. */
export async function runCtl(argv: readonly string[], io: CtlIo): Promise<number> {
  let args: CtlArgs;
  try {
    args = parseCtlArgs(argv);
  } catch (err) {
    io.stderr.write(`ambit ctl: ${(err as Error).message}\n`);
    return 2;
  }
  if (args.command === 'help') {
    io.stdout.write(CTL_USAGE);
    return 0;
  }
  try {
    write(io, args.output, await new CtlRun(args, io).run());
    return 0;
  } catch (err) {
    if (!isMeshError(err)) throw err;
    io.stderr.write(`ambit ctl: ${err.message}\n`);
    return err.code === 'CTL_USAGE' ? 2 : 1;
  }
}
