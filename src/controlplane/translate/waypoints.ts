// Waypoints and who uses them: Gateways of class istio-waypoint, their address and traffic type,
// and the istio.io/use-waypoint resolution istiod applies to services and workloads (waypoints.go).

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { canonicalIp, type ApplicationTunnel, type GatewayAddress } from '../../state/index.js';
import {
  ANNOTATION, LABEL, MESH_CONTROLLER_LABEL, WAYPOINT_CLASS, annotationsOf, labelsOf, matchesLabelSelector,
  serviceHostname, type LabelSelector,
} from './labels.js';
import { refOf, type Problems, type TranslateOptions, type WaypointInfo } from './types.js';

/** Port of a waypoint's HBONE listener; istiod hard-codes it in the GatewayAddress too. */
export const HBONE_PORT = 15008;

/** The Gateway fields this file reads (kubernetes-models types them loosely). */
interface GatewayView {
  readonly spec?: {
    readonly gatewayClassName?: string;
    readonly listeners?: readonly {
      readonly name?: string;
      readonly port?: number;
      readonly protocol?: string;
      readonly allowedRoutes?: { readonly namespaces?: { readonly from?: string; readonly selector?: LabelSelector } };
    }[];
  };
  readonly status?: { readonly addresses?: readonly { readonly type?: string; readonly value?: string }[] };
}

export interface Waypoint extends WaypointInfo {
  /** allowedRoutes of the HBONE listener: which namespaces may use this waypoint. */
  readonly allowedFrom: string;
  readonly allowedSelector: LabelSelector | undefined;
  /** Inbound binding for the waypoint's own pods (ambient.istio.io/waypoint-inbound-binding). */
  readonly binding: ApplicationTunnel | undefined;
}

export const TRAFFIC_TYPES = ['service', 'workload', 'all', 'none'] as const;

/** Why a service or workload that asks for a waypoint does not get it (istiod's status reasons). */
export interface WaypointProblem {
  /** Where the deciding label is: on the object itself or on its namespace. */
  readonly labelOn: 'object' | 'namespace';
  readonly reason: string;
}

export interface WaypointResolution {
  readonly waypoint: Waypoint | undefined;
  readonly problem: WaypointProblem | undefined;
  /** Where the label that chose `waypoint` is. */
  readonly labelOn?: WaypointProblem['labelOn'];
}

const NONE: WaypointResolution = { waypoint: undefined, problem: undefined };

export class WaypointIndex {
  private readonly byKey = new Map<string, Waypoint>();

  constructor(
    private readonly snapshot: ObjectSnapshot,
    options: TranslateOptions,
    problems: Problems,
  ) {
    for (const gw of snapshot.list('Gateway')) {
      const view = gw as unknown as GatewayView;
      if (view.spec?.gatewayClassName !== WAYPOINT_CLASS) continue;
      const wp = makeWaypoint(gw, view, snapshot, options, problems);
      this.byKey.set(`${wp.namespace}/${wp.name}`, wp);
    }
  }

  all(): readonly Waypoint[] {
    return [...this.byKey.values()];
  }

  get(namespace: string, name: string): Waypoint | undefined {
    return this.byKey.get(`${namespace}/${name}`);
  }

  /** The waypoint a pod is an instance of (label gateway.networking.k8s.io/gateway-name, same namespace). */
  instanceOf(pod: KubeObject<'Pod'>): Waypoint | undefined {
    const name = labelsOf(pod)[LABEL.gatewayName];
    return name ? this.get(pod.metadata.namespace ?? '', name) : undefined;
  }

  /**
   * istiod fetchWaypointForService: a waypoint's own Service never gets one (label
   * gateway.istio.io/managed=istio.io-mesh-controller, which Istio sets on what it deploys; Ambit
   * also treats the Service that *is* a waypoint's address as its own), then the traffic type must
   * be service or all.
   */
  forService(svc: KubeObject<'Service'>): WaypointResolution {
    if (labelsOf(svc)[LABEL.gatewayManaged] === MESH_CONTROLLER_LABEL) return NONE;
    if (this.get(svc.metadata.namespace ?? '', svc.metadata.name)) return NONE;
    return this.withTrafficType(this.forTarget(svc), 'service');
  }

  /** istiod fetchWaypointForService on a ServiceEntry: its own label, else its namespace's. */
  forServiceEntry(se: KubeObject<'ServiceEntry'>): WaypointResolution {
    return this.withTrafficType(this.forTarget(se), 'service');
  }

  /** istiod fetchWaypointForWorkload (the caller handles a waypoint's own pods first). */
  forWorkload(pod: KubeObject<'Pod'>): WaypointResolution {
    return this.withTrafficType(this.forTarget(pod), 'workload');
  }

  /**
   * The workload waypoint of a ServiceEntry endpoint (istiod computeWaypoint on an ObjectMeta made
   * of the ServiceEntry's namespace and the endpoint's labels).
   */
  forEndpointLabels(namespace: string, labels: Readonly<Record<string, string>>): WaypointResolution {
    return this.withTrafficType(this.forTarget({ metadata: { namespace, labels } }), 'workload');
  }

  private withTrafficType(r: WaypointResolution, type: 'service' | 'workload'): WaypointResolution {
    const w = r.waypoint;
    if (w === undefined || w.trafficType === type || w.trafficType === 'all') return r;
    return {
      waypoint: undefined,
      problem: {
        labelOn: r.labelOn ?? 'object',
        reason:
          `UnsupportedTrafficType: attempting to bind to traffic type "${type}" which the waypoint ` +
          `"${w.namespace}/${w.name}" does not support (istio.io/waypoint-for: ${w.trafficType})`,
      },
    };
  }

  /**
   * istiod fetchWaypointForTarget. The object's own `istio.io/use-waypoint` wins over its
   * namespace's: `none` opts out; a name (in `istio.io/use-waypoint-namespace`, default the
   * object's namespace) that is missing or not ready gives no waypoint and does NOT fall back to
   * the namespace label. The waypoint must allow attachment from the object's namespace.
   */
  private forTarget(o: { readonly metadata: { readonly namespace?: string; readonly labels?: Record<string, string> } }): WaypointResolution {
    const ns = o.metadata.namespace ?? '';
    const own = useWaypoint(labelsOf(o), ns);
    const namespace = this.snapshot.get('Namespace', undefined, ns);
    const [ref, labelOn] = own !== undefined
      ? [own, 'object' as const]
      : [namespace ? useWaypoint(labelsOf(namespace), ns) : undefined, 'namespace' as const];
    if (ref === undefined || ref === 'none') return NONE;
    const w = this.get(ref.namespace, ref.name);
    const key = `${ref.namespace}/${ref.name}`;
    if (w === undefined || w.address === undefined) {
      return { waypoint: undefined, problem: { labelOn, reason: `WaypointIsNotReady: waypoint "${key}" is not ready` } };
    }
    if (!this.allowsFrom(w, ns, namespace)) {
      return {
        waypoint: undefined,
        problem: { labelOn, reason: `AttachmentDenied: we are not permitted to attach to waypoint "${key}" (missing allowedRoutes?)` },
      };
    }
    return { waypoint: w, problem: undefined, labelOn };
  }

  private allowsFrom(w: Waypoint, ns: string, namespace: KubeObject<'Namespace'> | undefined): boolean {
    switch (w.allowedFrom) {
      case 'All':
        return true;
      case 'Selector':
        return w.allowedSelector !== undefined && matchesLabelSelector(w.allowedSelector, namespace ? labelsOf(namespace) : {});
      default:
        return w.namespace === ns;
    }
  }
}

/** A parsed `istio.io/use-waypoint` label: `none`, a waypoint reference, or absent. */
function useWaypoint(labels: Readonly<Record<string, string>>, defaultNamespace: string): 'none' | { namespace: string; name: string } | undefined {
  const name = labels[LABEL.useWaypoint];
  if (name === undefined) return undefined;
  // Istio reserves `none`: a waypoint named "none" cannot be used.
  if (name === 'none') return 'none';
  return { namespace: labels[LABEL.useWaypointNamespace] ?? defaultNamespace, name };
}

function makeWaypoint(
  gw: KubeObject<'Gateway'>,
  view: GatewayView,
  snapshot: ObjectSnapshot,
  options: TranslateOptions,
  problems: Problems,
): Waypoint {
  const namespace = gw.metadata.namespace ?? '';
  const name = gw.metadata.name;
  const ref = refOf(gw);
  // No GatewayClass objects are read, so the Gateway's label (or the default) decides.
  const trafficType = labelsOf(gw)[LABEL.waypointFor] ?? 'service';
  if (!(TRAFFIC_TYPES as readonly string[]).includes(trafficType)) {
    problems.warning(ref, `metadata.labels["${LABEL.waypointFor}"]`,
      `"${trafficType}" is not one of ${TRAFFIC_TYPES.join(', ')}: no service or workload can use this waypoint`);
  }
  const address = waypointAddress(view, namespace, name, snapshot, options);
  if (address === undefined) {
    problems.warning(ref, 'status.addresses',
      `waypoint has no address: no status.addresses and no Service ${namespace}/${name}; ` +
      'services and workloads that use it get no waypoint (istiod: WaypointIsNotReady)');
  }
  const binding = inboundBinding(annotationsOf(gw)[ANNOTATION.waypointInboundBinding]);
  const listener = view.spec?.listeners?.find((l) => l.protocol === 'HBONE' && l.port === HBONE_PORT);
  const allowed = listener?.allowedRoutes?.namespaces;
  return {
    namespace, name, trafficType, address, binding,
    allowedFrom: allowed?.from ?? 'Same',
    allowedSelector: allowed?.selector,
  };
}

/**
 * istiod getGatewayAddress reads status.addresses (a Hostname first, then an IPAddress; entries
 * without a type are skipped), which Istio's deployment controller fills with the hostname of the
 * Service it creates for the Gateway once a waypoint pod is ready. With no such controller here,
 * an empty status falls back to that Service, `<gateway-name>` in the Gateway's namespace, when
 * it exists. HBONE port 15008 either way.
 */
function waypointAddress(
  view: GatewayView,
  namespace: string,
  name: string,
  snapshot: ObjectSnapshot,
  options: TranslateOptions,
): GatewayAddress | undefined {
  const addrs = view.status?.addresses ?? [];
  const host = addrs.find((a) => a.type === 'Hostname' && a.value);
  if (host?.value) return { destination: { kind: 'hostname', namespace, hostname: host.value }, hboneMtlsPort: HBONE_PORT };
  for (const a of addrs) {
    const ip = a.type === 'IPAddress' && a.value ? canonicalIp(a.value) : undefined;
    if (ip !== undefined) return { destination: { kind: 'address', network: options.network, ip }, hboneMtlsPort: HBONE_PORT };
  }
  const svc = snapshot.get('Service', namespace, name);
  if (svc === undefined || svc.spec?.type === 'ExternalName') return undefined;
  return {
    destination: { kind: 'hostname', namespace, hostname: serviceHostname(name, namespace, options.domainSuffix) },
    hboneMtlsPort: HBONE_PORT,
  };
}

/** `<protocol>` or `<protocol>/<port>`, protocol NONE or PROXY (waypoints.go makeInboundBinding). */
function inboundBinding(text: string | undefined): ApplicationTunnel | undefined {
  if (text === undefined) return undefined;
  const parts = text.split('/');
  if (parts.length > 2 || (parts[0] !== 'NONE' && parts[0] !== 'PROXY')) return undefined;
  const port = parts[1] === undefined ? 0 : Number(parts[1]);
  return { protocol: parts[0], port: Number.isInteger(port) && port >= 0 && port <= 0xffffffff ? port : 0 };
}
