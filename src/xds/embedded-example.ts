// The built-in local config used when neither LOCAL_XDS_PATH nor LOCAL_XDS is set: a quick-start
// mesh on loopback, in ztunnel's examples/localhost.yaml format (plus Ambit's documented `netns`).

/**
 * Schema notes (ztunnel's LocalConfig, src/xds.rs; unknown fields are rejected):
 * - `workloads[]`: `namespace` and `workloadIps` are required. Defaults: protocol TCP,
 *   trustDomain cluster.local, serviceAccount default, clusterId Kubernetes, status Healthy,
 *   capacity 1, workloadType deployment, networkMode Standard. `uid` defaults to
 *   `<clusterId>//Pod/<namespace>/<name>` (ztunnel leaves it empty, which makes entries clash).
 *   `services` maps `"namespace/hostname"` to this endpoint's `{servicePort: targetPort}`.
 * - Ambit extension: `netns: /var/run/netns/NAME` (or `/proc/PID/ns/net`) names the network
 *   namespace of a local workload, for in-pod style listeners. Must be an absolute path.
 * - `services[]`: `name`, `namespace`, `hostname` required; `vips` are `"network/ip"` strings
 *   (`"/10.0.0.1"` = default network); `cidrVips` are `"network/ip/prefixLength"`.
 * - `policies[]`: `rules` is a list of rules, each a list of clauses, each a list of matches.
 *   StringMatch is `{Exact: x}`, `{Prefix: x}`, `{Suffix: x}` or `{Presence: []}`.
 */
export const EMBEDDED_EXAMPLE_YAML = `# Ambit built-in example: two loopback workloads on node "local" behind one service.
# Try: curl --socks5 127.0.0.1:15080 http://example.com/  (reaches 127.0.0.1:8080 or 127.0.0.2:8080)
workloads:
- uid: Kubernetes//Pod/default/local
  name: local
  namespace: default
  serviceAccount: default
  workloadIps: ["127.0.0.1"]
  protocol: HBONE
  node: local
  canonicalName: local
  canonicalRevision: latest
  workloadName: local
  services:
    "default/example.com":
      80: 8080
# The same app reached over plain TCP (no HBONE), to compare both paths with one config.
- uid: Kubernetes//Pod/default/local-tcp
  name: local-tcp
  namespace: default
  serviceAccount: default
  workloadIps: ["127.0.0.2"]
  protocol: TCP
  node: local
  canonicalName: local-tcp
  canonicalRevision: latest
  workloadName: local-tcp
  services:
    "default/example.com":
      80: 8080
services:
- name: example
  namespace: default
  hostname: example.com
  vips: ["/127.10.0.1"]
  ports:
    80: 8080
policies:
# Allows everything except destination port 9999 for workloads in namespace "default".
- name: deny-9999
  namespace: default
  scope: Namespace
  action: Allow
  rules:
  - - - notDestinationPorts: [9999]
`;
