// `ambit ctl certificates`: the workload certificates the agent holds, one row per certificate of
// each chain (Leaf, Intermediate, Root), as istioctl ztunnel-config certificates lists them.

import type { DumpCert, DumpCertificate } from './dump-schema.js';
import type { Table } from './table.js';

export const CERTIFICATE_HEADERS = ['CERTIFICATE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'] as const;

/** Within its validity window at `nowMs` (RFC 3339 times; unparsable ⇒ not valid). */
export function certValid(c: DumpCert, nowMs: number): boolean {
  const from = Date.parse(c.validFrom);
  const to = Date.parse(c.expirationTime);
  return Number.isFinite(from) && Number.isFinite(to) && from <= nowMs && nowMs < to;
}

/** `Unavailable: <reason>` is shortened to `Unavailable` in the table (the reason is in -o json). */
function status(state: string): string {
  return state.startsWith('Unavailable') ? 'Unavailable' : state;
}

export function certificatesTable(certs: readonly DumpCertificate[], nowMs: number): Table {
  const rows: string[][] = [];
  for (const c of [...certs].sort((a, b) => a.identity.localeCompare(b.identity))) {
    if (c.certChain.length === 0) {
      rows.push([c.identity, 'NA', status(c.state), 'false', 'NA', 'NA', 'NA']);
      continue;
    }
    const row = (type: string, x: DumpCert): string[] => [c.identity, type, status(c.state), String(certValid(x, nowMs)), x.serialNumber, x.expirationTime, x.validFrom];
    c.certChain.forEach((x, i) => rows.push(row(i === 0 ? 'Leaf' : 'Intermediate', x)));
    for (const x of c.rootCerts) rows.push(row('Root', x));
  }
  return { headers: CERTIFICATE_HEADERS, rows };
}
