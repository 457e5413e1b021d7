// Istio StringMatch (`{exact}`, `{prefix}`, `{regex}`; networking/v1alpha3 StringMatch) → the route
// model's string matches. Regexes are RE2, checked with the waypoint's own compiler.

import type { StringMatchType } from '../../waypoint/model/route-model.js';
import { re2Problem } from './re2-check.js';

export interface IstioStringMatchView {
  readonly exact?: string;
  readonly prefix?: string;
  readonly regex?: string;
}

export type CompiledStringMatch = { readonly type: StringMatchType; readonly value: string };

/**
 * One StringMatch. `empty`: what an empty match (`{}`) means where it is allowed — a header or
 * query parameter present (Istio emits Envoy present_match); elsewhere it is an error. Returns the
 * match or the reason it is refused (the caller reports it with the field path).
 */
export function compileIstioStringMatch(
  m: IstioStringMatchView | undefined,
  options: { readonly empty?: 'present'; readonly ignoreCase?: boolean } = {},
): { readonly ok: true; readonly match: CompiledStringMatch } | { readonly ok: false; readonly field: string; readonly reason: string } {
  const set = (['exact', 'prefix', 'regex'] as const).filter((k) => m?.[k] !== undefined);
  if (set.length > 1) return { ok: false, field: '', reason: `only one of exact, prefix, regex may be set (got ${set.join(', ')})` };
  const kind = set[0];
  if (kind === undefined) {
    if (options.empty === 'present') return { ok: true, match: { type: 'Present', value: '' } };
    return { ok: false, field: '', reason: 'one of exact, prefix, regex is required' };
  }
  const value = m![kind]!;
  if (typeof value !== 'string') return { ok: false, field: `.${kind}`, reason: 'must be a string' };
  if (kind === 'exact') return { ok: true, match: { type: 'Exact', value } };
  if (kind === 'prefix') {
    // Istio validation: an empty prefix match is refused (validateStringMatch).
    if (value === '') return { ok: false, field: '.prefix', reason: 'prefix string match should not be empty' };
    return { ok: true, match: { type: 'Prefix', value } };
  }
  if (value === '') return { ok: false, field: '.regex', reason: 'regex string match should not be empty' };
  const why = re2Problem(value, { ignoreCase: options.ignoreCase });
  if (why !== undefined) return { ok: false, field: '.regex', reason: why };
  return { ok: true, match: { type: 'RegularExpression', value } };
}
