// Public surface of the config module: the Config type, its loader, the settings table for --help,
// the defaults, and deepFreeze (shared with the local config parser).

export * from './types.js';
export { DEFAULTS } from './defaults.js';
export { SETTINGS, SETTINGS_HELP, formatSettingsHelp, XDS_HEADER_ENV_PREFIX, ISTIO_META_ENV_PREFIX, ISTIO_METAJSON_ENV_PREFIX, type SettingSpec, type SettingKind, type SettingHelp } from './settings.js';
export { readSettings, wantsHelp, processEnv, type RawSettings, type RawSetting } from './env.js';
export { loadConfig, parseDurationMs, autoWorkers, hostFacts, type HostFacts } from './load.js';
export { readCpuBudget, describeCpuBudget, type CpuBudget, type CpuBudgetSources } from './cpu-budget.js';
export { caAddressProblem } from './ca-address.js';
export { xdsAddressProblem, xdsTarget } from './xds-address.js';
export { deepFreeze } from './deep-freeze.js';
export { redactedConfig, REDACTED } from './redact.js';
export { CONTROL_DEFAULTS } from './defaults.js';
export { CONTROL_SETTINGS } from './control-settings.js';
export { formatTableHelp } from './settings.js';
export { loadControlConfig, type ControlConfig } from './load-control.js';
export { WAYPOINT_DEFAULTS } from './defaults.js';
export { WAYPOINT_SETTINGS } from './waypoint-settings.js';
export { loadWaypointConfig, type WaypointProcessConfig, type WaypointSource } from './load-waypoint.js';
