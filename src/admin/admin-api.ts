// The version of the admin HTTP API (what `ambit ctl` reads from node agents and waypoints): bumped
// when a view is added or a field it reads changes; reported in /config_dump and on every answer.

/**
 * 0: /config_dump, /logging, /quitquitquit (no version field). 1: `version.adminApi` in the dump,
 * the `x-ambit-admin-api` header, /debug/connections and /debug/explain.
 */
export const ADMIN_API_VERSION = 1;

/** Response header naming the admin API version: tells `ambit ctl` it reached an Ambit admin port. */
export const ADMIN_API_HEADER = 'x-ambit-admin-api';

/** This build's release (package.json `version`), as /config_dump `version.ambit` reports it. */
export const AMBIT_VERSION = '0.1.0';
