// Which listeners of a Gateway a route's parentRef selects, and whether a listener admits the
// route (Gateway API ParentReference sectionName/port, Listener AllowedRoutes namespaces and kinds).
//
// Shared by route status (does the Gateway take the route) and Gateway status (attachedRoutes,
// supportedKinds), so the two never disagree on which routes a listener holds.

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { labelsOf, matchesLabelSelector, type LabelSelector } from './labels.js';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export interface RouteGroupKind {
  readonly group: string;
  readonly kind: string;
}

/** The Listener fields these rules read (kubernetes-models types Gateway spec loosely). */
export interface ListenerView {
  readonly name?: string;
  readonly port?: number;
  readonly protocol?: string;
  readonly tls?: { readonly mode?: string };
  readonly allowedRoutes?: {
    readonly namespaces?: { readonly from?: string; readonly selector?: LabelSelector };
    readonly kinds?: readonly { readonly group?: string; readonly kind?: string }[];
  };
}

export function listenersOf(gw: KubeObject<'Gateway'>): readonly ListenerView[] {
  return (gw.spec as { listeners?: readonly ListenerView[] } | undefined)?.listeners ?? [];
}

/** A parentRef selects a listener by sectionName (= listener name) and/or port; neither: all of them. */
export function selectsListener(ref: { readonly sectionName?: string; readonly port?: number }, l: ListenerView): boolean {
  return (ref.sectionName === undefined || l.name === ref.sectionName) && (ref.port === undefined || l.port === ref.port);
}

/** allowedRoutes.namespaces: Same (the default), All, or Selector over the route namespace's labels. */
export function admitsNamespace(l: ListenerView, gatewayNamespace: string, routeNamespace: string, snapshot: ObjectSnapshot): boolean {
  const from = l.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'All') return true;
  if (from === 'Selector') {
    const sel = l.allowedRoutes?.namespaces?.selector;
    const nsObj = snapshot.get('Namespace', undefined, routeNamespace);
    return sel !== undefined && matchesLabelSelector(sel, nsObj ? labelsOf(nsObj) : {});
  }
  return routeNamespace === gatewayNamespace;
}

const kind = (k: string): RouteGroupKind => ({ group: GATEWAY_GROUP, kind: k });

/**
 * The route kinds a listener takes, as istiod's generateSupportedKinds: by protocol (HTTP/HTTPS:
 * HTTPRoute and GRPCRoute; TCP: TCPRoute; TLS: TLSRoute for Passthrough, else TCPRoute), narrowed
 * to `allowedRoutes.kinds` when set. `valid` is false when allowedRoutes names a kind the listener
 * cannot take (Listener ResolvedRefs=False, InvalidRouteKinds).
 *
 * Differs from istiod for HBONE: istiod lists no kind for a waypoint's HBONE listener, but Ambit's
 * waypoint serves HTTPRoutes, GRPCRoutes and TCPRoutes whose parentRef is the waypoint Gateway, and
 * the spec says supportedKinds "MUST represent the kinds an implementation supports".
 */
export function supportedKinds(l: ListenerView): { kinds: RouteGroupKind[]; valid: boolean } {
  let supported: RouteGroupKind[];
  switch (l.protocol) {
    case 'HBONE':
      supported = [kind('HTTPRoute'), kind('GRPCRoute'), kind('TCPRoute')];
      break;
    case 'HTTP':
    case 'HTTPS':
      supported = [kind('HTTPRoute'), kind('GRPCRoute')];
      break;
    case 'TCP':
      supported = [kind('TCPRoute')];
      break;
    case 'TLS':
      supported = [kind(l.tls?.mode === 'Passthrough' ? 'TLSRoute' : 'TCPRoute')];
      break;
    default:
      supported = [];
  }
  const wanted = l.allowedRoutes?.kinds;
  if (wanted === undefined || wanted.length === 0) return { kinds: supported, valid: true };
  const kinds = supported.filter((s) => wanted.some((w) => w.kind === s.kind && (w.group ?? GATEWAY_GROUP) === s.group));
  return { kinds, valid: kinds.length === wanted.length };
}
