// The only file that touches process.env and raw argv: collects each setting's raw string and where
// it came from (flags override env). Parsing and validation happen in load.ts.

import {
  CA_HEADER_ENV_PREFIX,
  ISTIO_META_ENV_PREFIX,
  ISTIO_METAJSON_ENV_PREFIX,
  SETTINGS,
  XDS_HEADER_ENV_PREFIX,
  type SettingSpec,
} from './settings.js';

export interface RawSetting {
  readonly spec: SettingSpec;
  readonly value: string;
  /** `--flag` or `ENV_NAME`, for error messages. */
  readonly origin: string;
}

export interface RawPrefixed {
  readonly name: string;
  readonly value: string;
  /** The env var, for error messages. */
  readonly origin: string;
}

export interface RawSettings {
  /** Setting key → raw value; absent = use the default. Empty env values count as unset. */
  readonly values: ReadonlyMap<string, RawSetting>;
  /** Problems found while reading (unknown flag, flag without value). */
  readonly errors: readonly string[];
  /** CA_HEADER_<name> env vars, in env order: `name` is the raw suffix (validated in load.ts). */
  readonly caHeaders: readonly RawPrefixed[];
  /** XDS_HEADER_<name> env vars, same shape. */
  readonly xdsHeaders: readonly RawPrefixed[];
  /** ISTIO_META_<key> env vars (xDS node metadata, string values). */
  readonly proxyMetadata: readonly RawPrefixed[];
  /** ISTIO_METAJSON_<key> env vars (xDS node metadata, JSON values; parsed in load.ts). */
  readonly proxyMetadataJson: readonly RawPrefixed[];
  /** KUBERNETES_SERVICE_HOST is set: pick in-cluster defaults (CA address). */
  readonly inKubernetes: boolean;
}

const BY_FLAG = new Map(SETTINGS.map((x) => [x.flag, x]));
/** Flag index per settings table other than the node agent's (built once per table). */
const byFlagOf = new WeakMap<readonly SettingSpec[], ReadonlyMap<string, SettingSpec>>();
const BOOL_LITERAL = /^(true|false|1|0)$/i;

/** True if argv asks for help; the caller prints SETTINGS_HELP instead of loading. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** The real process environment (for src/bin; everything else receives env as an argument). */
export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}

/**
 * Reads every setting of `table` (default: the node agent's) from `env` and `argv`; flags win.
 * Other commands (`ambit control`) pass their own table.
 */
export function readSettings(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  table: readonly SettingSpec[] = SETTINGS,
): RawSettings {
  const values = new Map<string, RawSetting>();
  const errors: string[] = [];
  let byFlag = table === SETTINGS ? BY_FLAG : byFlagOf.get(table);
  if (byFlag === undefined) {
    byFlag = new Map(table.map((x) => [x.flag, x]));
    byFlagOf.set(table, byFlag);
  }
  for (const spec of table) {
    for (const name of spec.env) {
      const v = env[name];
      if (v !== undefined && v !== '') {
        values.set(spec.key, { spec, value: v, origin: name });
        break;
      }
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') continue;
    if (!arg.startsWith('--')) {
      // JSON-quoted: one problem per line in the error message, whatever the argument holds.
      errors.push(`unexpected argument ${JSON.stringify(arg)}: settings are given as --name value or --name=value`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byFlag.get(name);
    if (spec === undefined) {
      const shown = /^[\x21-\x7e]*$/.test(name) ? `--${name}` : JSON.stringify(`--${name}`);
      errors.push(`unknown flag ${shown}; run with --help for the list of settings`);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (spec.kind.type === 'bool') {
      // A bare boolean flag means true; `--flag false` is also accepted.
      const next = argv[i + 1];
      value = next !== undefined && BOOL_LITERAL.test(next) ? (i++, next) : 'true';
    } else {
      value = argv[i + 1];
      if (value === undefined) {
        errors.push(`flag --${name} needs a value`);
        continue;
      }
      i++;
    }
    if (value === '') values.delete(spec.key);
    else values.set(spec.key, { spec, value, origin: `--${name}` });
  }
  const k8s = env.KUBERNETES_SERVICE_HOST;
  return {
    values,
    errors,
    caHeaders: prefixed(env, CA_HEADER_ENV_PREFIX),
    xdsHeaders: prefixed(env, XDS_HEADER_ENV_PREFIX),
    proxyMetadata: prefixed(env, ISTIO_META_ENV_PREFIX),
    proxyMetadataJson: prefixed(env, ISTIO_METAJSON_ENV_PREFIX),
    inKubernetes: k8s !== undefined && k8s !== '',
  };
}

/** Every non-empty `<prefix><name>` variable, in env order, with the prefix stripped from `name`. */
function prefixed(env: Readonly<Record<string, string | undefined>>, prefix: string): RawPrefixed[] {
  const out: RawPrefixed[] = [];
  for (const [name, v] of Object.entries(env)) {
    if (!name.startsWith(prefix) || v === undefined || v === '') continue;
    out.push({ name: name.slice(prefix.length), value: v, origin: name });
  }
  return out;
}
