// HBONE CONNECT header codecs: :authority, baggage, forwarded and traceparent (ztunnel
// src/baggage.rs, src/proxy.rs, src/proxy/outbound.rs).
// Pure functions only; the byte-exact formats here are what a real ztunnel sends and parses.

import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

/** `ip:port`, with IPv6 bracketed (`[fd00::1]:8080`) as Rust's SocketAddr prints it. */
export function formatAuthority(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export type ParsedAuthority =
  | { readonly kind: 'ip'; readonly ip: string; readonly port: number }
  | { readonly kind: 'host'; readonly host: string; readonly port: number };

// DNS-ish host: labels of letters, digits, '-', '_' separated by dots (service FQDNs).
const HOST_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

function parsePort(s: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/**
 * Parses a CONNECT `:authority` as a socket address first, else as `host:port` (ztunnel order).
 * IPv6 must be bracketed; anything else (no port, bad port, junk) is undefined → 400.
 */
export function parseAuthority(s: string): ParsedAuthority | undefined {
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0 || s[close + 1] !== ':') return undefined;
    const ip = s.slice(1, close);
    const port = parsePort(s.slice(close + 2));
    if (isIP(ip) !== 6 || port === undefined) return undefined;
    return { kind: 'ip', ip, port };
  }
  const colon = s.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const head = s.slice(0, colon);
  const port = parsePort(s.slice(colon + 1));
  if (port === undefined || head.includes(':')) return undefined;
  if (isIP(head) === 4) return { kind: 'ip', ip: head, port };
  // A dotted-quad that is not a valid IPv4 address is rejected rather than treated as a name.
  if (/^[0-9.]+$/.test(head)) return undefined;
  if (head.length > 253 || !HOST_RE.test(head)) return undefined;
  return { kind: 'host', host: head, port };
}

/** Source or destination workload metadata carried in `baggage` (ztunnel src/baggage.rs). */
export interface BaggageWorkload {
  readonly clusterId: string;
  readonly namespace: string;
  /** Lowercase workload kind: `deployment` | `cronjob` | `pod` | `job` (empty = omitted). */
  readonly workloadType: string;
  readonly workloadName: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly locality: { readonly region: string; readonly zone: string };
}

const WORKLOAD_TYPES = new Set(['deployment', 'cronjob', 'pod', 'job']);

/** Comma-joined `key=value` pairs in ztunnel's fixed order; empty values are omitted. */
export function buildBaggage(w: BaggageWorkload): string {
  const parts: string[] = [];
  const add = (k: string, v: string): void => {
    if (v !== '') parts.push(`${k}=${v}`);
  };
  add('k8s.cluster.name', w.clusterId);
  add('k8s.namespace.name', w.namespace);
  const type = w.workloadType.toLowerCase();
  if (type !== '') add(`k8s.${type}.name`, w.workloadName);
  add('service.name', w.canonicalName);
  add('service.version', w.canonicalRevision);
  add('cloud.region', w.locality.region);
  add('cloud.availability_zone', w.locality.zone);
  return parts.join(',');
}

/** Parses `baggage`; unknown keys are ignored, missing ones come back as ''. Never throws. */
export function parseBaggage(s: string): BaggageWorkload {
  let clusterId = '';
  let namespace = '';
  let workloadType = '';
  let workloadName = '';
  let canonicalName = '';
  let canonicalRevision = '';
  let region = '';
  let zone = '';
  for (const part of s.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    switch (key) {
      case 'k8s.cluster.name':
        clusterId = value;
        break;
      case 'k8s.namespace.name':
        namespace = value;
        break;
      case 'service.name':
        canonicalName = value;
        break;
      case 'service.version':
        canonicalRevision = value;
        break;
      case 'cloud.region':
        region = value;
        break;
      case 'cloud.availability_zone':
        zone = value;
        break;
      default: {
        const m = /^k8s\.([a-z]+)\.name$/.exec(key);
        if (m && m[1] !== undefined && WORKLOAD_TYPES.has(m[1])) {
          workloadType = m[1];
          workloadName = value;
        }
      }
    }
  }
  return { clusterId, namespace, workloadType, workloadName, canonicalName, canonicalRevision, locality: { region, zone } };
}

/** `for="ip:port"` (quoted, IPv6 bracketed inside the quotes) plus unquoted `;host=<svc>` if known. */
export function buildForwarded(clientIp: string, clientPort: number, serviceHost?: string): string {
  const base = `for="${formatAuthority(clientIp, clientPort)}"`;
  return serviceHost ? `${base};host=${serviceHost}` : base;
}

/** The first `host=` parameter of a Forwarded header (quotes optional), as the receiver uses it. */
export function parseForwardedHost(s: string): string | undefined {
  for (const element of s.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      if (pair.slice(0, eq).trim().toLowerCase() !== 'host') continue;
      let v = pair.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v === '' ? undefined : v;
    }
  }
  return undefined;
}

/** Random bytes drawn in one call and dealt out 24 at a time (one RAND_bytes call per 170 ids, not per id). */
const TRACE_POOL_BYTES = 24 * 170;
let tracePool = Buffer.alloc(0);
let tracePoolAt = TRACE_POOL_BYTES;

/** W3C traceparent with fresh random ids and flags 00: `00-<32 hex>-<16 hex>-00`. */
export function newTraceparent(): string {
  if (tracePoolAt + 24 > tracePool.length) {
    tracePool = randomBytes(TRACE_POOL_BYTES);
    tracePoolAt = 0;
  }
  const b = tracePool.subarray(tracePoolAt, tracePoolAt + 24);
  tracePoolAt += 24;
  // An all-zero id is invalid per W3C; the odds are 2^-128, but keep the format always valid.
  if (b.subarray(0, 16).every((x) => x === 0)) b[15] = 1;
  if (b.subarray(16).every((x) => x === 0)) b[23] = 1;
  return `00-${b.toString('hex', 0, 16)}-${b.toString('hex', 16)}-00`;
}
