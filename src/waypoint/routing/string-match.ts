// Compiled string predicates for header and query-parameter matches (Gateway API
// HTTPHeaderMatch/HTTPQueryParamMatch, Istio StringMatch): built once, run per request.

import type { StringMatchType } from '../model/route-model.js';
import { MeshError } from '../../common/errors.js';
import { compileRegex } from './re2-regex.js';

/** Tests a value as found in the request; `undefined` = the header/parameter is absent. */
export type StringTest = (value: string | undefined) => boolean;

/**
 * Compiles one string match. Values are case-sensitive (the spec's Exact; Istio compiles
 * StringMatch without ignore_case unless asked). An absent value matches nothing but Present;
 * `invert` negates the whole result, so an inverted match also matches an absent value (Envoy
 * HeaderMatcher.invert_match, Istio VirtualService withoutHeaders).
 */
export function compileStringMatch(type: StringMatchType, value: string, invert = false): StringTest {
  const test = positiveTest(type, value);
  return invert ? (v) => !test(v) : test;
}

function positiveTest(type: StringMatchType, value: string): StringTest {
  switch (type) {
    case 'Exact':
      return (v) => v === value;
    case 'Prefix':
      return (v) => v !== undefined && v.startsWith(value);
    case 'Suffix':
      return (v) => v !== undefined && v.endsWith(value);
    case 'Present':
      return (v) => v !== undefined;
    case 'RegularExpression': {
      const re = compileRegex(value);
      return (v) => v !== undefined && re.test(v);
    }
    default: {
      // The config arrives as JSON over xDS: an unknown type is refused (NACKed), never ignored.
      const unknown: never = type;
      throw new MeshError('CONFIG_INVALID', `unknown string match type ${JSON.stringify(unknown)}`);
    }
  }
}
