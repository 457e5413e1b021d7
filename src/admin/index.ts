// Public surface of the admin module: readiness tasks and their 15021 server, and the localhost
// admin server (config dump, log levels, quit).

export { Readiness } from './readiness.js';
export { ReadinessServer } from './readiness-server.js';
export type { ReadinessServerOptions } from './readiness-server.js';
export { AdminServer, dumpJson } from './admin-server.js';
export type { AdminServerOptions, DebugView, DebugViewSpec } from './admin-server.js';
export { ADMIN_API_HEADER, ADMIN_API_VERSION, AMBIT_VERSION } from './admin-api.js';
export { LogLevels, LOGGING_HELP } from './log-levels.js';
export type { LogLevelsOptions, LoggingResult } from './log-levels.js';
