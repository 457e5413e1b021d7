// `ambit ctl explain`: the agent's /debug/explain answer as a short report: source, destination, the
// route (protocol, next hop, expected identity, endpoint and candidates, waypoint) and the verdict
// with the policy and rule that decided it.

import { MeshError } from '../common/errors.js';
import type { AuthorizationCheck, ExplainedEndpoint, ExplainedWorkload, Explanation } from '../proxy/index.js';
import { isRecord } from './dump-schema.js';
import { cell } from './table.js';

const LABEL = 14;

/** Refuses an answer that is not an explanation (naming what is missing). */
export function explanationOf(body: Readonly<Record<string, unknown>>, who: string): Explanation {
  const missing = ['from', 'to', 'route', 'authorization', 'verdict', 'summary', 'notes'].filter((k) => body[k] === undefined);
  if (missing.length > 0 || !isRecord(body.route) || !Array.isArray(body.authorization)) {
    throw new MeshError('CTL_BAD_ANSWER', `${who} answered /debug/explain without ${missing.length > 0 ? missing.join(', ') : 'a route and an authorization list'}`);
  }
  return body as unknown as Explanation;
}

function wl(w: ExplainedWorkload): string {
  return `${w.namespace}/${w.name}`;
}

function endpointText(e: ExplainedEndpoint): string {
  return `${wl(e.workload)} ${e.address}`;
}

/** `label  first line` then continuation lines indented under the first. */
function block(label: string, lines: readonly string[]): string {
  return lines.map((l, i) => `${(i === 0 ? label : '').padEnd(LABEL)}${cell(l)}`.trimEnd() + '\n').join('');
}

function checkLines(c: AuthorizationCheck, multiple: boolean): string[] {
  const src = [c.connection.srcIp, c.connection.srcIdentity ?? '(no identity: plaintext)'].join(' ');
  const field = (name: string, value: string): string => `  ${name.padEnd(11)}${value}`;
  return [
    `at ${wl(c.workload)}${multiple ? (c.chosen ? ' (the endpoint picked)' : ' (a candidate)') : ''}, by the ${c.enforcedBy}`,
    field('connection', `${src} → ${c.connection.dstIp}:${c.connection.dstPort}`),
    field('policies', c.policies.length > 0 ? c.policies.join(', ') : '(none)'),
    field(c.allowed ? 'ALLOW' : 'DENY', c.reason),
    ...c.dryRunNotes.map((n) => field('note', n)),
  ];
}

export function renderExplanation(e: Explanation): string {
  const out: string[] = [];
  const src = e.from.workload;
  out.push(
    block('SOURCE', [
      src ? `${wl(src)} ${e.from.ip} (node ${src.node || '-'}, ${src.identity})` : `${e.from.ip} (not a workload of the mesh)`,
      e.from.captured ? 'in the mesh: its outbound connections go through the node agent' : 'not in the mesh: its connections leave as plaintext',
    ]),
  );
  const dst = [`${e.to.ip}:${e.to.port}${e.to.input !== `${e.to.ip}:${e.to.port}` ? ` (${e.to.input})` : ''}`];
  if (e.to.service) dst.push(`service ${e.to.service.namespace}/${e.to.service.hostname}`);
  if (e.to.workload) dst.push(`workload ${wl(e.to.workload)}`);
  out.push(block('DESTINATION', dst));
  const r = e.route;
  const route: string[] = [];
  switch (r.kind) {
    case 'hbone':
      route.push(`HBONE (mTLS HTTP/2 CONNECT) to ${r.nextHop}, authority ${r.authority}`);
      route.push(`expects ${r.expectedIdentities.join(' or ')}`);
      break;
    case 'tcp':
      route.push(`plain TCP to ${r.nextHop} (the destination is not in the mesh)`);
      break;
    case 'passthrough':
      route.push(`passthrough: plain TCP to ${r.nextHop}, as addressed`);
      break;
    case 'plaintext':
      route.push(`plaintext TCP to ${r.nextHop}: no node agent on the source side`);
      break;
    case 'error':
      route.push(`refused by the outbound path: ${r.error?.code ?? ''} ${r.error?.message ?? ''}`.trim());
      break;
  }
  if (r.service) route.push(`service ${r.service}`);
  if (r.endpoint) route.push(`endpoint ${endpointText(r.endpoint)}${r.candidates.length > 1 ? ` (picked by weight from ${r.candidates.length} candidates)` : ''}`);
  if (r.candidates.length > 1 || (r.candidates.length === 1 && !r.endpoint)) route.push(`candidates ${r.candidates.map(endpointText).join(', ')}`);
  if (r.kind !== 'error' && r.kind !== 'plaintext') route.push(`waypoint ${r.waypoint ? `${wl(r.waypoint)} ${r.nextHop} (${r.waypoint.identity})` : 'none'}`);
  out.push(block('ROUTE', route));
  if (e.authorization.length > 0) {
    const multiple = e.authorization.length > 1;
    out.push(block('AUTHORIZATION', e.authorization.flatMap((c) => checkLines(c, multiple))));
  }
  out.push(block('VERDICT', [`${e.verdict.toUpperCase()}: ${e.summary}`]));
  if (e.notes.length > 0) out.push(block('NOTES', e.notes));
  out.push(block('EVALUATED BY', [`the node agent of node ${e.evaluatedBy || '-'}, with the data path's routing and authorization code on its live state`]));
  return out.join('');
}
