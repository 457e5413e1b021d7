// Path modifiers of Gateway API HTTPURLRewriteFilter and HTTPRequestRedirectFilter
// (HTTPPathModifier: ReplaceFullPath, ReplacePrefixMatch), on the path without its query.

import type { PathModifier } from '../model/route-model.js';
import { trimTrailingSlash } from './route-match.js';

/**
 * Path rewrite per Gateway API URLRewrite/RequestRedirect path modifiers; `path` excludes the
 * query (the caller keeps the query as is). ReplacePrefixMatch replaces the matched prefix
 * element-wise, with trailing '/' of both prefix and replacement insignificant, reproducing the
 * HTTPPathModifier table in apis/v1/httproute_types.go: `/foo/bar` with `/foo` → `/xyz` gives
 * `/xyz/bar`, `/foo/` gives `/xyz/`, a replacement of '' or '/' strips the prefix and never
 * leaves an empty path.
 */
export function rewritePath(path: string, modifier: PathModifier): string {
  if (modifier.type === 'ReplaceFullPath') return modifier.value;
  // '/' as prefix matches every path; everything is the remainder then.
  const prefix = modifier.prefix === '/' ? '' : trimTrailingSlash(modifier.prefix);
  let rest: string;
  if (path.length >= prefix.length && (path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f) && startsWithMaybeIgnoringCase(path, prefix)) {
    rest = path.slice(prefix.length);
  } else if (path.startsWith(modifier.prefix)) {
    // Not an element-wise match: a VirtualService plain Prefix match (Envoy prefix_rewrite).
    return modifier.value + path.slice(modifier.prefix.length);
  } else {
    return path;
  }
  const replacement = modifier.value.endsWith('/') ? modifier.value.slice(0, -1) : modifier.value;
  const out = replacement + rest;
  return out === '' ? '/' : out;
}

/** The match may have been case-insensitive (ignoreCase): compare the prefix the same way. */
function startsWithMaybeIgnoringCase(path: string, prefix: string): boolean {
  return path.startsWith(prefix) || path.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
}
