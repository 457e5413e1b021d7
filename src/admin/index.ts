// Public surface of the admin module: readiness tasks and their 15021 server, and the localhost
// admin server (config dump, log levels, quit).

export { Readiness } from './readiness.js';
export { ReadinessServer } from './readiness-server.js';
export type { ReadinessServerOptions } from './readiness-server.js';
export { AdminServer, dumpJson } from './admin-server.js';
export type { AdminServerOptions } from './admin-server.js';
export { LogLevels, LOGGING_HELP } from './log-levels.js';
export type { LogLevelsOptions, LoggingResult } from './log-levels.js';
