// Runtime log-level control behind POST /logging: a default level on the root pino logger plus
// per-target levels (`access`, or any target the composition root handles via a callback).

import type { Logger } from '../common/log.js';

/** Levels accepted on /logging (tracing names plus pino's); `off` maps to pino `silent`. */
const LEVELS: Readonly<Record<string, string>> = {
  off: 'silent',
  silent: 'silent',
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

export interface LogLevelsOptions {
  /** The root logger; `?level=<lvl>` sets its level. Children created earlier keep their own level. */
  readonly root: Logger;
  /** The access-log logger, target `access`. */
  readonly access?: Logger;
  /** Other targets; return false for an unknown target (→ 400). Level is a pino level name. */
  readonly setLevel?: (target: string, level: string) => boolean;
  /** Called on `?reset` so the owner of other targets can restore them. */
  readonly resetLevels?: () => void;
}

export type LoggingResult = { readonly status: 200 | 400; readonly body: string };

export const LOGGING_HELP = `
usage: POST /logging\t\t\t\t\t\t(To list current level)
usage: POST /logging?level=<level>\t\t\t\t(To change global levels)
usage: POST /logging?level={target1}={level1},{target2}={level2}\t(To change specific targets' logging level)
usage: POST /logging?reset\t\t\t\t\t(To reset all levels to their start values)

hint: loglevel:\terror|warn|info|debug|trace|off
hint: target:\taccess, or another component name
`;

function levelName(pinoLevel: string): string {
  return pinoLevel === 'silent' ? 'off' : pinoLevel;
}

export class LogLevels {
  private readonly initialRoot: string;
  private readonly initialAccess: string | undefined;
  /** Targets set since start or the last reset, with their pino level. */
  private readonly overrides = new Map<string, string>();

  constructor(private readonly options: LogLevelsOptions) {
    this.initialRoot = options.root.level;
    this.initialAccess = options.access?.level;
  }

  /** `info` or `info,access=debug,xds=trace` (targets sorted). */
  current(): string {
    const parts = [levelName(this.options.root.level)];
    for (const t of [...this.overrides.keys()].sort()) {
      const lvl = t === 'access' && this.options.access !== undefined ? this.options.access.level : this.overrides.get(t);
      parts.push(`${t}=${levelName(lvl ?? '')}`);
    }
    return parts.join(',');
  }

  private listing(): LoggingResult {
    return { status: 200, body: `current log level is ${this.current()}\n` };
  }

  /**
   * Applies a /logging query. Validates everything before changing anything, so a bad entry
   * leaves all levels untouched.
   */
  apply(query: URLSearchParams): LoggingResult {
    const reset = query.has('reset');
    const level = query.get('level');
    if (level === null && !reset) return this.listing();

    let root: string | undefined;
    const targets: Array<[string, string]> = [];
    if (level !== null) {
      const entries = level.split(',').map((e) => e.trim());
      for (const e of entries) {
        const eq = e.indexOf('=');
        const target = eq < 0 ? undefined : e.slice(0, eq).trim();
        const lvl = LEVELS[(eq < 0 ? e : e.slice(eq + 1)).trim().toLowerCase()];
        if (lvl === undefined || target === '' || (target === undefined && root !== undefined)) {
          return { status: 400, body: `Invalid level provided: ${level}\n${LOGGING_HELP}` };
        }
        if (target === undefined) root = lvl;
        else if (target !== 'access' && this.options.setLevel === undefined) {
          return { status: 400, body: `Unknown logging target: ${target}\n${LOGGING_HELP}` };
        } else if (target === 'access' && this.options.access === undefined) {
          return { status: 400, body: `Unknown logging target: ${target}\n${LOGGING_HELP}` };
        } else targets.push([target, lvl]);
      }
    }

    if (reset) {
      this.options.root.level = this.initialRoot;
      if (this.options.access !== undefined && this.initialAccess !== undefined) this.options.access.level = this.initialAccess;
      this.overrides.clear();
      this.options.resetLevels?.();
    }
    if (root !== undefined) this.options.root.level = root;
    for (const [target, lvl] of targets) {
      if (target === 'access' && this.options.access !== undefined) {
        this.options.access.level = lvl;
      } else if (this.options.setLevel?.(target, lvl) !== true) {
        return { status: 400, body: `Unknown logging target: ${target}\n${LOGGING_HELP}` };
      }
      this.overrides.set(target, lvl);
    }
    return this.listing();
  }
}
