// The in-pod redirection rules as iptables-restore text (pure): what to add, what to delete, and how
// to pick our rules out of an iptables-save dump. Layout, chain names and marks follow istio-cni's
// in-pod mode (cni/pkg/iptables, REDIRECT variant) so the rules read the same to an Istio operator.

/** Our chains; the same names istio-cni uses in the pod netns. */
export const CHAIN_PREROUTING = 'ISTIO_PRERT';
export const CHAIN_OUTPUT = 'ISTIO_OUTPUT';
export const AMBIT_CHAINS: readonly string[] = [CHAIN_PREROUTING, CHAIN_OUTPUT];

/**
 * Conntrack/packet mark for "belongs to a connection the proxy opened with a spoofed source".
 * Set on the conntrack entry when a proxy-marked packet arrives (loops back over lo), restored onto
 * the app's reply packets, which `ip rule fwmark 0x111/0xfff lookup 100` then delivers locally.
 */
export const TPROXY_MARK = 0x111;
/** Only the low 12 bits are ours, so other users of the mark (CNIs, kube-proxy) keep theirs. */
export const MARK_MASK = 0xfff;
export const ROUTE_TABLE = 100;
export const RULE_PREF = 32764;

/** kubelet probes are SNATed to these by istio-cni's host rules; they are never captured. */
const PROBE_SNAT = { v4: '169.254.7.127/32', v6: 'fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128' } as const;
const LOOPBACK = { v4: '127.0.0.1/32', v6: '::1/128' } as const;

export type IpFamily = 'v4' | 'v6';

export interface RedirectOptions {
  /** Outbound capture listener (ztunnel 15001). */
  readonly outboundPort: number;
  /** Inbound plaintext capture listener (ztunnel 15006). */
  readonly inboundPlaintextPort: number;
  /** HBONE listener (ztunnel 15008): reached directly, never redirected. */
  readonly hbonePort: number;
  /** SO_MARK the proxy puts on every socket it opens (ztunnel PACKET_MARK, 1337 = 0x539). */
  readonly mark: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Tables of one iptables-save dump: table name → its lines (chain declarations and rules). */
export type SaveTables = Map<string, string[]>;

/** Parses iptables-save output (with or without `-c` counters); comments and COMMIT are dropped. */
export function parseSave(text: string): SaveTables {
  const tables: SaveTables = new Map();
  let current: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      current = [];
      tables.set(line.slice(1), current);
    } else if (line === 'COMMIT') {
      current = undefined;
    } else if (current) {
      current.push(line);
    }
  }
  return tables;
}

/** A rule line without its leading `[pkts:bytes] ` counter (present in `iptables-save -c`). */
function stripCounter(line: string): string {
  return line.replace(/^\[\d+:\d+\]\s+/, '');
}

function jumpTarget(rule: string): string | undefined {
  return /\s-j\s+(\S+)/.exec(` ${rule}`)?.[1];
}

function ruleChain(rule: string): string | undefined {
  return /^-A\s+(\S+)/.exec(rule)?.[1];
}

/** True for lines that are ours: our chain declarations, rules in our chains, jumps into them. */
export function isAmbitLine(line: string): boolean {
  const l = stripCounter(line);
  if (l.startsWith(':')) return AMBIT_CHAINS.includes(l.slice(1).split(/\s/)[0] ?? '');
  const chain = ruleChain(l);
  if (chain === undefined) return false;
  return AMBIT_CHAINS.includes(chain) || AMBIT_CHAINS.includes(jumpTarget(l) ?? '');
}

/** Our rules per table, for one family, in save order (the install order). */
function ambitRules(family: IpFamily, o: RedirectOptions): Map<string, string[]> {
  const mark = `${hex(o.mark)}/${hex(MARK_MASK)}`;
  const tproxy = `${hex(TPROXY_MARK)}/${hex(MARK_MASK)}`;
  const lo = LOOPBACK[family];
  const probe = PROBE_SNAT[family];
  const P = CHAIN_PREROUTING;
  const O = CHAIN_OUTPUT;
  return new Map([
    [
      'mangle',
      [
        // A proxy-marked packet that comes back in over lo opened a spoofed-source connection:
        // tag the connection so the app's replies can be steered back to the proxy.
        `-A ${P} -m mark --mark ${mark} -j CONNMARK --set-xmark ${tproxy}`,
        `-A ${O} -m connmark --mark ${tproxy} -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff`,
      ],
    ],
    [
      'nat',
      [
        `-A ${P} -s ${probe} -p tcp -m tcp -j ACCEPT`,
        // Inbound: everything but HBONE and the proxy's own traffic goes to the plaintext listener.
        `-A ${P} ! -d ${lo} -p tcp -m tcp ! --dport ${o.hbonePort} -m mark ! --mark ${mark} -j REDIRECT --to-ports ${o.inboundPlaintextPort}`,
        `-A ${O} -d ${probe} -p tcp -m tcp -j ACCEPT`,
        `-A ${O} -p tcp -m mark --mark ${tproxy} -j ACCEPT`,
        // The app calling its own pod IP stays local (it leaves through lo).
        `-A ${O} ! -d ${lo} -o lo -j ACCEPT`,
        // DNS capture (udp/tcp 53 → 15053) is deliberately absent: Ambit has no DNS proxy yet.
        `-A ${O} ! -d ${lo} -p tcp -m mark ! --mark ${mark} -j REDIRECT --to-ports ${o.outboundPort}`,
      ],
    ],
  ]);
}

/** The jumps from built-in chains into ours, per table. */
const JUMPS: ReadonlyMap<string, readonly string[]> = new Map([
  ['mangle', [`-A PREROUTING -j ${CHAIN_PREROUTING}`, `-A OUTPUT -j ${CHAIN_OUTPUT}`]],
  ['nat', [`-A PREROUTING -j ${CHAIN_PREROUTING}`, `-A OUTPUT -j ${CHAIN_OUTPUT}`]],
]);

/**
 * The `iptables-restore --noflush` input that installs our rules, given the current dump.
 * Idempotent by construction: declaring our chains flushes them (noflush mode), and each jump from a
 * built-in chain is added only when absent (and deduplicated when an earlier writer doubled it).
 */
export function installFragment(family: IpFamily, opts: RedirectOptions, current: SaveTables): string {
  const out: string[] = [];
  for (const [table, rules] of ambitRules(family, opts)) {
    const existing = (current.get(table) ?? []).map(stripCounter);
    out.push(`*${table}`, ...AMBIT_CHAINS.map((c) => `:${c} - [0:0]`));
    for (const jump of JUMPS.get(table) ?? []) {
      const copies = existing.filter((l) => l === jump).length;
      if (copies === 0) out.push(jump);
      for (let i = 1; i < copies; i++) out.push(`-D${jump.slice(2)}`);
    }
    out.push(...rules, 'COMMIT');
  }
  return `${out.join('\n')}\n`;
}

/**
 * The `iptables-restore --noflush` input that removes every trace of our chains found in `current`
 * (jumps into them from any chain, then the chains), or '' when there is nothing to remove.
 */
export function removeFragment(current: SaveTables): string {
  const out: string[] = [];
  for (const [table, lines] of current) {
    const clean = lines.map(stripCounter);
    const chains = AMBIT_CHAINS.filter((c) => clean.some((l) => l.startsWith(`:${c} `)));
    const jumps = clean.filter((l) => {
      const chain = ruleChain(l);
      return chain !== undefined && !AMBIT_CHAINS.includes(chain) && AMBIT_CHAINS.includes(jumpTarget(l) ?? '');
    });
    if (chains.length === 0 && jumps.length === 0) continue;
    out.push(`*${table}`, ...jumps.map((j) => `-D${j.slice(2)}`));
    out.push(...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`), 'COMMIT');
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Our lines of a dump, re-rendered as an iptables-save fragment (empty tables omitted). */
export function renderAmbitLines(current: SaveTables): string {
  const out: string[] = [];
  for (const [table, lines] of current) {
    const ours = lines.filter(isAmbitLine);
    if (ours.length > 0) out.push(`*${table}`, ...ours, 'COMMIT');
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Rejects option values that would produce wrong or unparsable rules. */
export function validateRedirectOptions(o: RedirectOptions): string | undefined {
  for (const key of ['outboundPort', 'inboundPlaintextPort', 'hbonePort'] as const) {
    const v = o[key];
    if (!Number.isInteger(v) || v < 1 || v > 65535) return `${key} must be a port 1..65535, got ${String(v)}`;
  }
  if (!Number.isInteger(o.mark) || o.mark <= 0 || (o.mark & ~MARK_MASK) !== 0) {
    return `mark must be a non-zero integer within ${hex(MARK_MASK)}, got ${String(o.mark)}`;
  }
  if ((o.mark & MARK_MASK) === TPROXY_MARK) return `mark must differ from the return-path mark ${hex(TPROXY_MARK)}`;
  return undefined;
}
