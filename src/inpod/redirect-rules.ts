// Installs and removes Ambit's traffic redirection inside one pod network namespace: the iptables
// chains of redirect-rule-set.ts (IPv4, plus IPv6 when the netns has it) and the policy route that
// brings replies to spoofed-source proxy connections back to the proxy (fwmark 0x111 → table 100).

import { MeshError } from '../common/errors.js';
import { netnsExists, runInNetns, type NetnsCommandResult } from './netns-command.js';
import {
  MARK_MASK,
  ROUTE_TABLE,
  RULE_PREF,
  TPROXY_MARK,
  installFragment,
  parseSave,
  removeFragment,
  renderAmbitLines,
  validateRedirectOptions,
  type IpFamily,
  type RedirectOptions,
} from './redirect-rule-set.js';

export type { RedirectOptions } from './redirect-rule-set.js';

const TOOLS: Record<IpFamily, { save: string; restore: string; ipFlag: string; anyDst: string }> = {
  v4: { save: 'iptables-save', restore: 'iptables-restore', ipFlag: '-4', anyDst: '0.0.0.0/0' },
  v6: { save: 'ip6tables-save', restore: 'ip6tables-restore', ipFlag: '-6', anyDst: '::/0' },
};

const FWMARK = `0x${TPROXY_MARK.toString(16)}/0x${MARK_MASK.toString(16)}`;
/** `ip rule` selector of our policy rule (the same spelling `ip rule show` prints). */
const RULE_ARGS = ['fwmark', FWMARK, 'pref', String(RULE_PREF), 'lookup', String(ROUTE_TABLE)];

function captureError(netnsPath: string, argv: readonly string[], r: NetnsCommandResult): MeshError {
  const detail = r.stderr.trim() || `exit status ${r.code}`;
  return new MeshError('CAPTURE_SETUP', `in netns ${netnsPath}: \`${argv.join(' ')}\` failed: ${detail}`);
}

async function mustRun(netnsPath: string, argv: readonly string[], input?: string): Promise<string> {
  const r = await runInNetns(netnsPath, argv, input);
  if (r.code !== 0) throw captureError(netnsPath, argv, r);
  return r.stdout;
}

/**
 * IPv6 counts as present when the kernel has it and it is enabled on lo (the local route of the
 * return path lives on lo), the same test istio-cni applies before adding its IPv6 loopback route.
 */
async function hasIpv6(netnsPath: string): Promise<boolean> {
  const r = await runInNetns(netnsPath, ['cat', '/proc/sys/net/ipv6/conf/lo/disable_ipv6']);
  return r.code === 0 && r.stdout.trim() === '0';
}

async function familiesOf(netnsPath: string): Promise<IpFamily[]> {
  return (await hasIpv6(netnsPath)) ? ['v4', 'v6'] : ['v4'];
}

async function installFamily(netnsPath: string, family: IpFamily, opts: RedirectOptions): Promise<void> {
  const t = TOOLS[family];
  // Return path first, so no reply can be misrouted in the window before the marks are set.
  await mustRun(netnsPath, ['ip', t.ipFlag, 'route', 'replace', 'local', t.anyDst, 'dev', 'lo', 'table', String(ROUTE_TABLE)]);
  const rules = await mustRun(netnsPath, ['ip', t.ipFlag, 'rule', 'show', 'pref', String(RULE_PREF)]);
  if (!rules.includes(`fwmark ${FWMARK} lookup ${ROUTE_TABLE}`)) {
    const argv = ['ip', t.ipFlag, 'rule', 'add', ...RULE_ARGS];
    const r = await runInNetns(netnsPath, argv);
    // EEXIST: a concurrent writer got there first, which is the state we want.
    if (r.code !== 0 && !r.stderr.includes('File exists')) throw captureError(netnsPath, argv, r);
  }
  const current = parseSave(await mustRun(netnsPath, [t.save]));
  await mustRun(netnsPath, [t.restore, '--noflush', '--wait', '10'], installFragment(family, opts, current));
}

/**
 * Installs the redirection rules in the netns at `netnsPath` (IPv4 always, IPv6 too when the netns
 * has IPv6: a half-captured pod would let IPv6 traffic bypass policy, so an IPv6 failure fails the
 * whole install). Idempotent: a second call leaves exactly one copy of every rule, the ip rule and
 * the route. Throws MeshError CAPTURE_SETUP naming the netns and the failing command's stderr.
 * Serialize calls per netns: jumps are added after reading iptables-save, so two concurrent installs
 * could both add one (the next install then deletes the duplicate).
 */
/** Returns the IP families the rules were installed for (v6 only where IPv6 is enabled). */
export async function installRedirectRules(netnsPath: string, opts: RedirectOptions): Promise<IpFamily[]> {
  const invalid = validateRedirectOptions(opts);
  if (invalid !== undefined) throw new MeshError('CAPTURE_SETUP', `in netns ${netnsPath}: ${invalid}`);
  if (!(await netnsExists(netnsPath))) {
    throw new MeshError('CAPTURE_SETUP', `in netns ${netnsPath}: the network namespace does not exist`);
  }
  const families = await familiesOf(netnsPath);
  for (const family of families) await installFamily(netnsPath, family, opts);
  return families;
}

/** Runs a removal step; a failure is an error only while the netns still exists. */
async function removalStep(netnsPath: string, argv: readonly string[], input?: string): Promise<NetnsCommandResult | undefined> {
  const r = await runInNetns(netnsPath, argv, input);
  if (r.code === 0) return r;
  if (!(await netnsExists(netnsPath))) return undefined;
  throw captureError(netnsPath, argv, r);
}

async function removeFamily(netnsPath: string, family: IpFamily): Promise<boolean> {
  const t = TOOLS[family];
  const saved = await removalStep(netnsPath, [t.save]);
  if (saved === undefined) return false;
  const fragment = removeFragment(parseSave(saved.stdout));
  if (fragment !== '' && (await removalStep(netnsPath, [t.restore, '--noflush', '--wait', '10'], fragment)) === undefined) {
    return false;
  }
  // Deleting until it fails also clears duplicates that another writer may have left.
  for (let i = 0; i < 16; i++) {
    const r = await runInNetns(netnsPath, ['ip', t.ipFlag, 'rule', 'del', ...RULE_ARGS]);
    if (r.code !== 0) break;
  }
  const routeArgv = ['ip', t.ipFlag, 'route', 'del', 'local', t.anyDst, 'dev', 'lo', 'table', String(ROUTE_TABLE)];
  const r = await runInNetns(netnsPath, routeArgv);
  const absent = /No such process|No such file|Cannot find device|does not exist/.test(r.stderr);
  if (r.code !== 0 && !absent && (await netnsExists(netnsPath))) throw captureError(netnsPath, routeArgv, r);
  return true;
}

/**
 * Removes everything installRedirectRules added (jumps, chains, the ip rule, the table-100 route)
 * and nothing else. Tolerates rules that are already gone and a netns that vanished (then it is a
 * no-op). Empty built-in tables that iptables-nft created stay: iptables cannot delete a table.
 */
export async function removeRedirectRules(netnsPath: string): Promise<void> {
  if (!(await netnsExists(netnsPath))) return;
  // IPv6 is cleaned whenever ip6tables works there, even if IPv6 was disabled after install.
  for (const family of ['v4', 'v6'] as const) {
    if (family === 'v6' && !(await hasIpv6(netnsPath))) {
      const probe = await runInNetns(netnsPath, [TOOLS.v6.save]);
      if (probe.code !== 0 || removeFragment(parseSave(probe.stdout)) === '') continue;
    }
    if (!(await removeFamily(netnsPath, family))) return;
  }
}

export interface RedirectDumpOptions {
  /** Prefix every rule with its `[packets:bytes]` counters (iptables-save -c). */
  readonly counters?: boolean;
}

/**
 * Our chains and the jumps into them as iptables-save text, one `# ipv4` / `# ipv6` section per
 * family present in the netns; '' sections are kept so an empty result is recognisable.
 */
export async function redirectRulesDump(netnsPath: string, opts: RedirectDumpOptions = {}): Promise<string> {
  const sections: string[] = [];
  for (const family of await familiesOf(netnsPath)) {
    const argv = opts.counters ? [TOOLS[family].save, '-c'] : [TOOLS[family].save];
    const text = await mustRun(netnsPath, argv);
    sections.push(`# ${family === 'v4' ? 'ipv4' : 'ipv6'}\n${renderAmbitLines(parseSave(text))}`);
  }
  return sections.join('');
}
