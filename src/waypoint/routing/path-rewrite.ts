// Path modifiers of Gateway API HTTPURLRewriteFilter and HTTPRequestRedirectFilter
// (HTTPPathModifier: ReplaceFullPath, ReplacePrefixMatch) and of VirtualService rewrites (Envoy
// prefix_rewrite and regex_rewrite), on the path without its query.

import type { PathModifier } from '../model/route-model.js';
import { compileRegex } from './re2-regex.js';
import { trimTrailingSlash } from './route-match.js';

/**
 * Path rewrite per the modifier; `path` excludes the query (the caller keeps the query as is).
 * ReplacePrefixMatch replaces the matched prefix element-wise, with trailing '/' of both prefix and
 * replacement insignificant, reproducing the HTTPPathModifier table in apis/v1/httproute_types.go:
 * `/foo/bar` with `/foo` → `/xyz` gives `/xyz/bar`, `/foo/` gives `/xyz/`, a replacement of '' or
 * '/' strips the prefix and never leaves an empty path. PrefixRewrite and RegexRewrite are Envoy's
 * plain-string prefix_rewrite and RE2 regex_rewrite (VirtualService).
 */
export function rewritePath(path: string, modifier: PathModifier): string {
  switch (modifier.type) {
    case 'ReplaceFullPath':
      return modifier.value;
    case 'PrefixRewrite':
      return replacePlainPrefix(path, modifier.prefix, modifier.value, modifier.ignoreCase === true);
    case 'RegexRewrite':
      return regexRewriter(modifier)(path);
    case 'ReplacePrefixMatch':
      return replacePrefixMatch(path, modifier.prefix, modifier.value);
  }
}

function replacePrefixMatch(path: string, matched: string, value: string): string {
  // '/' as prefix matches every path; everything is the remainder then.
  const prefix = matched === '/' ? '' : trimTrailingSlash(matched);
  let rest: string;
  if (path.length >= prefix.length && (path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f) && startsWithMaybeIgnoringCase(path, prefix)) {
    rest = path.slice(prefix.length);
  } else if (path.startsWith(matched)) {
    // Not an element-wise match: a VirtualService plain Prefix match (Envoy prefix_rewrite).
    return value + path.slice(matched.length);
  } else {
    return path;
  }
  const replacement = value.endsWith('/') ? value.slice(0, -1) : value;
  const out = replacement + rest;
  return out === '' ? '/' : out;
}

/** Envoy prefix_rewrite: the matched prefix's characters are swapped for `value`, nothing else. */
function replacePlainPrefix(path: string, prefix: string, value: string, ignoreCase: boolean): string {
  const head = path.slice(0, prefix.length);
  if (head !== prefix && !(ignoreCase && head.toLowerCase() === prefix.toLowerCase())) return path;
  return value + path.slice(prefix.length);
}

/** The match may have been case-insensitive (ignoreCase): compare the prefix the same way. */
function startsWithMaybeIgnoringCase(path: string, prefix: string): boolean {
  return path.startsWith(prefix) || path.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
}

type RegexModifier = Extract<PathModifier, { type: 'RegexRewrite' }>;

/** Compiled once per modifier object: config objects are immutable while a config serves. */
const rewriters = new WeakMap<RegexModifier, (path: string) => string>();

/**
 * The compiled RegexRewrite (throws MeshError CONFIG_INVALID for a pattern RE2 refuses, so a
 * config holding one is NACKed when compiled). RE2 GlobalReplace: every non-overlapping match is
 * replaced; `\0`..`\9` in the substitution are groups, `\\` a backslash, `$` is literal.
 */
export function regexRewriter(modifier: RegexModifier): (path: string) => string {
  let fn = rewriters.get(modifier);
  if (fn === undefined) {
    const re = compileRegex(modifier.pattern, { search: true });
    const parts = substitutionParts(modifier.substitution);
    fn = (path) => path.replace(re, (...args: unknown[]) => {
      // args: match, p1..pn, offset, string[, groups]
      const groups = args.slice(0, args.findIndex((a) => typeof a === 'number'));
      return parts.map((p) => (typeof p === 'number' ? String(groups[p] ?? '') : p)).join('');
    });
    rewriters.set(modifier, fn);
  }
  return fn;
}

/** RE2 rewrite string → literal pieces and group numbers. */
function substitutionParts(s: string): (string | number)[] {
  const out: (string | number)[] = [];
  let lit = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      const n = s[i + 1]!;
      if (n >= '0' && n <= '9') {
        if (lit) out.push(lit);
        lit = '';
        out.push(Number(n));
        i++;
        continue;
      }
      if (n === '\\') {
        lit += '\\';
        i++;
        continue;
      }
    }
    lit += c;
  }
  if (lit) out.push(lit);
  return out;
}
