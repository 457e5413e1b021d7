// TEMPORARY stand-in for the routing library written on another branch (replaced at merge): just
// enough of its API, correctly, for the data path to compile and be tested.

import type { HeaderMutation, PathModifier, Redirect, Route, RouteMatch, StringMatchType } from '../model/route-model.js';

export type HeaderMap = Map<string, string[]>;
export interface RequestView {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: HeaderMap;
}

export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers.get(name.toLowerCase());
  return v === undefined || v.length === 0 ? undefined : v.join(',');
}

function stringMatches(type: StringMatchType, want: string, got: string | undefined): boolean {
  if (got === undefined) return false;
  switch (type) {
    case 'Exact': return got === want;
    case 'Prefix': return got.startsWith(want);
    case 'Suffix': return got.endsWith(want);
    case 'RegularExpression': return new RegExp(`^(?:${want})$`).test(got);
    case 'Present': return true;
  }
}

function queryParam(query: string, name: string): string | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    if (decodeURIComponent(k) === name) return eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
  }
  return undefined;
}

function pathMatches(m: NonNullable<RouteMatch['path']>, path: string): boolean {
  const p = m.ignoreCase ? path.toLowerCase() : path;
  const v = m.ignoreCase ? m.value.toLowerCase() : m.value;
  switch (m.type) {
    case 'Exact': return p === v;
    case 'Prefix': return p.startsWith(v);
    case 'PathPrefix': {
      const pre = v.endsWith('/') && v !== '/' ? v.slice(0, -1) : v;
      return pre === '/' || p === pre || p.startsWith(`${pre}/`);
    }
    case 'RegularExpression': return new RegExp(`^(?:${m.value})$`, m.ignoreCase ? 'i' : '').test(path);
  }
}

function matches(m: RouteMatch, req: RequestView): boolean {
  if (m.path && !pathMatches(m.path, req.path)) return false;
  if (m.method && m.method !== req.method) return false;
  for (const h of m.headers ?? []) {
    const ok = stringMatches(h.type, h.value, headerValue(req.headers, h.name));
    if (ok === Boolean(h.invert)) return false;
  }
  for (const q of m.queryParams ?? []) if (!stringMatches(q.type, q.value, queryParam(req.query, q.name))) return false;
  return true;
}

export class PortRoutes {
  constructor(private readonly routes: readonly Route[]) {}
  get size(): number {
    return this.routes.length;
  }
  select(req: RequestView): Route | undefined {
    return this.routes.find((r) => matches(r.match, req));
  }
}

export function applyHeaderMutation(headers: HeaderMap, mutation: HeaderMutation | undefined): void {
  if (!mutation) return;
  for (const { name, value } of mutation.set ?? []) headers.set(name.toLowerCase(), [value]);
  for (const { name, value } of mutation.add ?? []) {
    const k = name.toLowerCase();
    const old = headers.get(k);
    headers.set(k, old && old.length > 0 ? [`${old.join(',')},${value}`] : [value]);
  }
  for (const name of mutation.remove ?? []) headers.delete(name.toLowerCase());
}

export function rewritePath(path: string, modifier: PathModifier): string {
  if (modifier.type === 'ReplaceFullPath') return modifier.value;
  const prefix = modifier.prefix.endsWith('/') && modifier.prefix !== '/' ? modifier.prefix.slice(0, -1) : modifier.prefix;
  let rest = prefix === '/' ? path : path.slice(prefix.length);
  let value = modifier.value.endsWith('/') ? modifier.value.slice(0, -1) : modifier.value;
  if (rest !== '' && !rest.startsWith('/')) rest = `/${rest}`;
  const out = value + rest;
  value = out === '' ? '/' : out;
  return value.startsWith('/') ? value : `/${value}`;
}

export function redirectLocation(
  req: { readonly scheme: 'http' | 'https'; readonly host: string; readonly path: string; readonly query: string; readonly servicePort: number },
  redirect: Redirect,
): string {
  const scheme = redirect.scheme ?? req.scheme;
  const host = redirect.hostname ?? req.host.replace(/:\d+$/, '');
  const port = redirect.port ?? (redirect.scheme ? (scheme === 'https' ? 443 : 80) : req.servicePort);
  const showPort = !((scheme === 'http' && port === 80) || (scheme === 'https' && port === 443));
  const path = redirect.path ? rewritePath(req.path, redirect.path) : req.path;
  return `${scheme}://${host}${showPort ? `:${port}` : ''}${path}${req.query ? `?${req.query}` : ''}`;
}

export function pickWeighted<T extends { readonly weight: number }>(items: readonly T[], random: () => number): T | undefined {
  const total = items.reduce((s, i) => s + Math.max(0, i.weight), 0);
  if (total <= 0) return undefined;
  let r = random() * total;
  for (const i of items) {
    r -= Math.max(0, i.weight);
    if (r < 0) return i;
  }
  return items.filter((i) => i.weight > 0).at(-1);
}

export function chance(percent: number, random: () => number): boolean {
  return percent >= 100 || (percent > 0 && random() * 100 < percent);
}
