// The conditions of one status.parents[] entry (parentConditions) from parent facts and rule facts,
// and the sorting of a route's problems into dropped rules and unresolved references (ruleFacts):
// which Accepted reason wins, when PartiallyInvalid may appear, ResolvedRefs lists, message limits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parentConditions, ruleFacts, type ParentFacts, type PortOutcome, type RouteReport, type RouteRuleFacts, type TranslationError } from '../../src/controlplane/index.js';

const OK = { ok: true } as const;
const applied: PortOutcome = { applied: true };
const conflicted = (message: string): PortOutcome => ({ applied: false, reason: 'Conflicted', message });
const notHttp = (message: string): PortOutcome => ({ applied: false, reason: 'NotAllowedByListeners', message });
const NO_RULES: RouteRuleFacts = { total: 1, dropped: [], refs: [] };
const drop = (rule: number, reason: 'UnsupportedValue' | 'IncompatibleFilters' = 'UnsupportedValue') => ({ rule, reason, details: [`spec.rules[${rule}]: bad`] });

/** `Type=Status Reason: message` per condition. */
function view(parent: Partial<ParentFacts>, rules: RouteRuleFacts = NO_RULES): string[] {
  return parentConditions(4, { attachment: OK, ports: [], ...parent }, rules).map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`);
}

const ACCEPTED = 'Accepted=True Accepted: Route was valid';
const RESOLVED = 'ResolvedRefs=True ResolvedRefs: All references resolved';

const rows: [string, Partial<ParentFacts>, RouteRuleFacts, string[]][] = [
  ['all good, no waypoint condition for a Gateway parent', {}, NO_RULES, [ACCEPTED, RESOLVED]],
  ['a route without rules is accepted', {}, { total: 0, dropped: [], refs: [] }, [ACCEPTED, RESOLVED]],
  [
    'a parent that does not take the route wins over dropped rules; no PartiallyInvalid when not accepted',
    { attachment: { ok: false, reason: 'NoMatchingParent', message: 'port 81 not found' } },
    { total: 2, dropped: [drop(1)], refs: [] },
    ['Accepted=False NoMatchingParent: port 81 not found', RESOLVED],
  ],
  [
    'applied at no port: the first reason, each message once',
    { ports: [notHttp('port 5432 is tcp'), conflicted('GRPCRoute wins on 80'), conflicted('GRPCRoute wins on 80')] },
    NO_RULES,
    ['Accepted=False NotAllowedByListeners: port 5432 is tcp; GRPCRoute wins on 80', RESOLVED],
  ],
  [
    'conflicted everywhere and every rule dropped: Conflicted (the route is not applied at all)',
    { ports: [conflicted('VirtualService owns it')] },
    { total: 1, dropped: [drop(0)], refs: [] },
    ['Accepted=False Conflicted: VirtualService owns it', RESOLVED],
  ],
  [
    'every rule dropped: the first rule\'s reason, every detail',
    { ports: [applied] },
    { total: 2, dropped: [drop(0, 'IncompatibleFilters'), drop(1)], refs: [] },
    ['Accepted=False IncompatibleFilters: All rules dropped: spec.rules[0]: bad; spec.rules[1]: bad', RESOLVED],
  ],
  [
    'some rules dropped: Accepted, PartiallyInvalid with the first dropped rule\'s reason',
    { ports: [applied] },
    { total: 3, dropped: [drop(0, 'IncompatibleFilters'), drop(2)], refs: [] },
    [ACCEPTED, 'PartiallyInvalid=True IncompatibleFilters: Dropped Rules 0, 2: spec.rules[0]: bad; spec.rules[2]: bad', RESOLVED],
  ],
  [
    'conflicted at one port, applied at another: Accepted, the conflict named',
    { ports: [applied, conflicted('HTTPRoute a/b takes precedence on port 81')] },
    NO_RULES,
    ['Accepted=True Accepted: Route was valid; not applied where it conflicts: HTTPRoute a/b takes precedence on port 81', RESOLVED],
  ],
  [
    'a port whose protocol does not take the kind, next to an applied one: not worth a word',
    { ports: [applied, notHttp('port 5432 is tcp')] },
    NO_RULES,
    [ACCEPTED, RESOLVED],
  ],
  [
    'unresolved references: the first reason, all listed',
    {},
    { total: 1, dropped: [], refs: [{ reason: 'InvalidKind', detail: 'a: kind' }, { reason: 'BackendNotFound', detail: 'b: gone' }] },
    [ACCEPTED, 'ResolvedRefs=False InvalidKind: a: kind; b: gone'],
  ],
  [
    'ResolvedWaypoints last, True or with its reason',
    { waypoint: { ok: false, reason: 'MissingUseWaypointLabel', message: 'no label' } },
    NO_RULES,
    [ACCEPTED, RESOLVED, 'ResolvedWaypoints=False MissingUseWaypointLabel: no label'],
  ],
  ['ResolvedWaypoints True', { waypoint: OK }, NO_RULES, [ACCEPTED, RESOLVED, 'ResolvedWaypoints=True ResolvedWaypoints: All waypoints resolved']],
];

for (const [name, parent, rules, expected] of rows) {
  test(`parent conditions: ${name}`, () => {
    assert.deepEqual(view(parent, rules), expected);
  });
}

test('observedGeneration is the route generation on every condition', () => {
  const got = parentConditions(9, { attachment: OK, waypoint: OK, ports: [applied] }, { total: 2, dropped: [drop(1)], refs: [] });
  assert.deepEqual(got.map((c) => [c.type, c.observedGeneration]), [['Accepted', 9], ['PartiallyInvalid', 9], ['ResolvedRefs', 9], ['ResolvedWaypoints', 9]]);
});

test('long lists: eight items then a count; a message never exceeds 4096 characters', () => {
  const refs = Array.from({ length: 10 }, (_, i) => ({ reason: 'BackendNotFound' as const, detail: `r${i}` }));
  const [, resolved] = view({}, { total: 1, dropped: [], refs });
  assert.equal(resolved, 'ResolvedRefs=False BackendNotFound: r0; r1; r2; r3; r4; r5; r6; r7; and 2 more');
  const msg = parentConditions(1, { attachment: OK, ports: [] }, { total: 1, dropped: [], refs: [{ reason: 'BackendNotFound', detail: 'x'.repeat(10_000) }] })[1]!.message;
  assert.equal(msg, `${'x'.repeat(4093)}...`);
});

const problem = (field: string, reason: string, severity: 'error' | 'warning' = 'error'): TranslationError => ({ object: { kind: 'HTTPRoute', namespace: 'default', name: 'r' }, field, reason, severity });
const report = (total: number, kept: number[], problems: TranslationError[]): RouteReport => ({ parents: new Map(), rules: { total, kept: new Set(kept) }, problems });

const factRows: [string, RouteReport, RouteRuleFacts][] = [
  ['nothing wrong', report(2, [0, 1], []), { total: 2, dropped: [], refs: [] }],
  [
    'a dropped rule takes its coded problems, "; rule dropped" trimmed; problems of other rules are not its cause',
    report(2, [0], [
      problem('spec.rules[0].filters[0].requestMirror.backendRef', 'BackendNotFound: backend(x) not found; mirror not configured'),
      problem('spec.rules[1].filters[0].type', 'IncompatibleFilters: a and b; rule dropped'),
    ]),
    {
      total: 2,
      dropped: [{ rule: 1, reason: 'IncompatibleFilters', details: ['spec.rules[1].filters[0].type: a and b'] }],
      refs: [{ reason: 'BackendNotFound', detail: 'spec.rules[0].filters[0].requestMirror.backendRef: backend(x) not found; mirror not configured' }],
    },
  ],
  [
    'spec.rules[10] is rule 10, not rule 1',
    report(11, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [problem('spec.rules[10].matches[0].path.type', 'UnsupportedValue: bad; rule dropped')]),
    { total: 11, dropped: [{ rule: 10, reason: 'UnsupportedValue', details: ['spec.rules[10].matches[0].path.type: bad'] }], refs: [] },
  ],
  [
    'a dropped rule without a rule problem takes one about the rules list (TCPRoute)',
    report(2, [0], [problem('spec.rules', 'only the first of 2 rules is used', 'warning')]),
    { total: 2, dropped: [{ rule: 1, reason: 'UnsupportedValue', details: ['spec.rules: only the first of 2 rules is used'] }], refs: [] },
  ],
  [
    'a dropped rule nobody explained still says so',
    report(1, [], []),
    { total: 1, dropped: [{ rule: 0, reason: 'UnsupportedValue', details: ['spec.rules[0]: could not be translated'] }], refs: [] },
  ],
  [
    'attachment problems are not rule or reference problems',
    report(1, [0], [problem('spec.parentRefs', 'Conflicted: GRPCRoute takes precedence'), problem('spec.parentRefs[0]', 'NoMatchingParent: no port', 'warning')]),
    { total: 1, dropped: [], refs: [] },
  ],
];

for (const [name, r, expected] of factRows) {
  test(`rule facts: ${name}`, () => {
    assert.deepEqual(ruleFacts(r), expected);
  });
}
