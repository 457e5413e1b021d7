// The Kubernetes objects the control plane reads, typed by kubernetes-models (generated from the
// upstream OpenAPI schemas), and the contract every object source and every translation shares.

import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { IGateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import type { IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import type { IGRPCRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2/GRPCRoute';
import type { ITCPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2/TCPRoute';
import type { IDestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule';
import type { IServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1beta1/ServiceEntry';
import type { IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import type { IAuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import type { IRequestAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication';
import type { IPeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1/PeerAuthentication';
import type { IEndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { INode } from 'kubernetes-models/v1/Node';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/** Every kind the control plane reads, with its upstream type. */
export interface KindTypes {
  Namespace: INamespace;
  Pod: IPod;
  Service: IService;
  ServiceAccount: IServiceAccount;
  Node: INode;
  EndpointSlice: IEndpointSlice;
  Gateway: IGateway;
  HTTPRoute: IHTTPRoute;
  GRPCRoute: IGRPCRoute;
  TCPRoute: ITCPRoute;
  AuthorizationPolicy: IAuthorizationPolicy;
  PeerAuthentication: IPeerAuthentication;
  RequestAuthentication: IRequestAuthentication;
  DestinationRule: IDestinationRule;
  VirtualService: IVirtualService;
  ServiceEntry: IServiceEntry;
}

export type Kind = keyof KindTypes;

/** A stored object: its upstream type with kind and a named metadata guaranteed. */
export type KubeObject<K extends Kind = Kind> = KindTypes[K] & {
  readonly kind: K;
  readonly apiVersion: string;
  readonly metadata: IObjectMeta & { readonly name: string };
};

export interface KindInfo {
  /** API group ('' for core). */
  readonly group: string;
  /** Versions accepted for this kind, preferred first (the one a cluster source watches). */
  readonly versions: readonly string[];
  /** REST resource name (plural), as in /apis/<group>/<version>/namespaces/<ns>/<plural>. */
  readonly plural: string;
  readonly namespaced: boolean;
}

/**
 * Where each kind lives. Gateway API and Istio serve several versions of the same schema; a
 * manifest in any listed version is accepted and stored as the same kind.
 */
export const KIND_INFO: { readonly [K in Kind]: KindInfo } = {
  Namespace: { group: '', versions: ['v1'], plural: 'namespaces', namespaced: false },
  Pod: { group: '', versions: ['v1'], plural: 'pods', namespaced: true },
  Service: { group: '', versions: ['v1'], plural: 'services', namespaced: true },
  ServiceAccount: { group: '', versions: ['v1'], plural: 'serviceaccounts', namespaced: true },
  Node: { group: '', versions: ['v1'], plural: 'nodes', namespaced: false },
  EndpointSlice: { group: 'discovery.k8s.io', versions: ['v1'], plural: 'endpointslices', namespaced: true },
  Gateway: { group: 'gateway.networking.k8s.io', versions: ['v1', 'v1beta1'], plural: 'gateways', namespaced: true },
  HTTPRoute: { group: 'gateway.networking.k8s.io', versions: ['v1', 'v1beta1'], plural: 'httproutes', namespaced: true },
  GRPCRoute: { group: 'gateway.networking.k8s.io', versions: ['v1', 'v1alpha2'], plural: 'grpcroutes', namespaced: true },
  TCPRoute: { group: 'gateway.networking.k8s.io', versions: ['v1alpha2'], plural: 'tcproutes', namespaced: true },
  AuthorizationPolicy: { group: 'security.istio.io', versions: ['v1', 'v1beta1'], plural: 'authorizationpolicies', namespaced: true },
  PeerAuthentication: { group: 'security.istio.io', versions: ['v1', 'v1beta1'], plural: 'peerauthentications', namespaced: true },
  RequestAuthentication: { group: 'security.istio.io', versions: ['v1', 'v1beta1'], plural: 'requestauthentications', namespaced: true },
  DestinationRule: { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], plural: 'destinationrules', namespaced: true },
  VirtualService: { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], plural: 'virtualservices', namespaced: true },
  ServiceEntry: { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], plural: 'serviceentries', namespaced: true },
};

export const KINDS = Object.keys(KIND_INFO) as readonly Kind[];

/** `namespace/name` (or `name` for cluster-scoped kinds): the key of an object within its kind. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/**
 * A consistent, immutable view of every object at one moment. Translation reads only this:
 * it never sees a half-applied change.
 */
export interface ObjectSnapshot {
  /** Increases with every change applied. */
  readonly version: number;
  /** Objects of `kind`, in one namespace or all; sorted by key for deterministic output. */
  list<K extends Kind>(kind: K, namespace?: string): readonly KubeObject<K>[];
  get<K extends Kind>(kind: K, namespace: string | undefined, name: string): KubeObject<K> | undefined;
}

/** An object refused by a source: everything a person needs to find and fix it. */
export interface ObjectRejection {
  /** The file (manifests source) or `cluster` (API server). */
  readonly source: string;
  /** 0-based index of the YAML document in a multi-document file. */
  readonly documentIndex?: number;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** Path of the offending field inside the object, e.g. `spec.containers[0].ports[0].containerPort`. */
  readonly path: string;
  readonly reason: string;
}

/** A source of objects (a manifests folder, or a cluster's API server). */
export interface ObjectSource {
  start(): Promise<void>;
  /** Stops watching; the last snapshot stays readable. */
  close(): Promise<void>;
  destroy(): void;
  /** True once the first full listing of every kind is in the snapshot. */
  readonly synced: boolean;
  whenSynced(): Promise<void>;
  snapshot(): ObjectSnapshot;
  /** Called after each applied change with the new snapshot and the kinds that changed. */
  onChange(listener: (snapshot: ObjectSnapshot, changed: ReadonlySet<Kind>) => void): () => void;
  /** Objects currently refused (replaced as sources change). */
  rejections(): readonly ObjectRejection[];
}
