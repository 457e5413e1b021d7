// Public surface of the ctl module: `ambit ctl` (inspect a running mesh from a node agent's or a
// waypoint's admin API, or ambit control's monitoring port) and the pieces its tests drive.

export { runCtl, type CtlIo } from './ctl-command.js';
export { parseCtlArgs, parseAddress, formatAddress, CTL_COMMANDS, DEFAULT_PORTS, type CtlArgs, type CtlCommand, type CtlTarget, type OutputFormat, type TargetKind } from './ctl-args.js';
export { CTL_USAGE } from './ctl-usage.js';
export { AdminClient, describeAnswer, probeKnownPort, recognise, type AdminAnswer } from './admin-client.js';
export { ApiReader, type AgentDump, type DumpSection } from './api-reader.js';
export { renderTable, cell, type Table } from './table.js';
export { formatStructured } from './output-format.js';
export { workloadsTable, selectWorkloads, WORKLOAD_HEADERS } from './workloads-view.js';
export { servicesTable, selectServices, endpointCount, SERVICE_HEADERS } from './services-view.js';
export { policiesTable, selectPolicies, POLICY_HEADERS } from './policies-view.js';
export { certificatesTable, certValid, CERTIFICATE_HEADERS } from './certificates-view.js';
export { connectionsTable, selectConnections, connectionsOf, CONNECTION_HEADERS, type ConnectionRow } from './connections-view.js';
export { renderExplanation, explanationOf } from './explain-view.js';
export { routesTable, clustersTable, matchSummary, actionSummary, routesOf, ROUTE_HEADERS, CLUSTER_HEADERS, type WaypointRoutes } from './routes-view.js';
export { waypointName, addressNamer } from './mesh-names.js';
export type { MeshView, DumpWorkload, DumpService, DumpPolicy, DumpCertificate, DumpCert, DumpGateway } from './dump-schema.js';
