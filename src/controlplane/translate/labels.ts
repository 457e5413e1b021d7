// The well-known labels and annotations translation reads, and label-selector matching as
// Kubernetes and istiod define it (matchLabels subset; matchExpressions for Gateway allowedRoutes).

/** Upstream names (istio.io/api label and annotation packages, Gateway API, Kubernetes). */
export const LABEL = {
  dataplaneMode: 'istio.io/dataplane-mode',
  useWaypoint: 'istio.io/use-waypoint',
  useWaypointNamespace: 'istio.io/use-waypoint-namespace',
  waypointFor: 'istio.io/waypoint-for',
  /** Set by Istio on the Deployment/Service it generates for a mesh-controller Gateway. */
  gatewayManaged: 'gateway.istio.io/managed',
  /** Set on the pods of a Gateway's deployment. */
  gatewayName: 'gateway.networking.k8s.io/gateway-name',
  tunnel: 'networking.istio.io/tunnel',
  canonicalName: 'service.istio.io/canonical-name',
  canonicalRevision: 'service.istio.io/canonical-revision',
  workloadName: 'service.istio.io/workload-name',
  podTemplateHash: 'pod-template-hash',
  serviceName: 'kubernetes.io/service-name',
  region: 'topology.kubernetes.io/region',
  zone: 'topology.kubernetes.io/zone',
  subzone: 'topology.istio.io/subzone',
} as const;

export const ANNOTATION = {
  /** istio-cni's record that it captured the pod (`enabled`). */
  ambientRedirection: 'ambient.istio.io/redirection',
  sidecarStatus: 'sidecar.istio.io/status',
  trafficDistribution: 'networking.istio.io/traffic-distribution',
  dryRun: 'istio.io/dry-run',
  waypointInboundBinding: 'ambient.istio.io/waypoint-inbound-binding',
  /** Ambit extension: the pod's network namespace path, copied to Workload.netns while the pod is enrolled. */
  netns: 'ambit.dev/netns',
} as const;

export const WAYPOINT_CLASS = 'istio-waypoint';
export const MESH_CONTROLLER = 'istio.io/mesh-controller';
/** Value of `gateway.istio.io/managed` on objects Istio generates for waypoints. */
export const MESH_CONTROLLER_LABEL = 'istio.io-mesh-controller';

export type Labels = Readonly<Record<string, string>>;

export function labelsOf(o: { readonly metadata?: { readonly labels?: Record<string, string> } }): Labels {
  return o.metadata?.labels ?? {};
}

export function annotationsOf(o: { readonly metadata?: { readonly annotations?: Record<string, string> } }): Labels {
  return o.metadata?.annotations ?? {};
}

/** Every `selector` entry is present with the same value in `labels` (an empty selector selects all). */
export function selectsLabels(selector: Labels, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector)) {
    if (labels[k] !== v) return false;
  }
  return true;
}

export interface LabelSelector {
  readonly matchLabels?: Record<string, string>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

/** metav1.LabelSelector semantics; an unknown operator matches nothing (Kubernetes refuses it). */
export function matchesLabelSelector(sel: LabelSelector | undefined, labels: Labels): boolean {
  if (sel === undefined) return true;
  if (!selectsLabels(sel.matchLabels ?? {}, labels)) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[e.key] ?? '')) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[e.key] ?? '')) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Go's strconv.ParseBool (istiod parses boolean annotations with it); undefined if invalid. */
export function parseGoBool(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** `<name>.<ns>.svc.<suffix>`: a Kubernetes Service's hostname (istiod kube.ServiceHostname). */
export function serviceHostname(name: string, namespace: string, domainSuffix: string): string {
  return `${name}.${namespace}.svc.${domainSuffix}`;
}
