// The `ambit ctl --help` text: commands, flags, exit statuses and examples; the README section
// "Inspecting a mesh: `ambit ctl`" says the same at more length.

export const CTL_USAGE = `Usage: ambit ctl <command> [flags]

Inspect a running mesh, as istioctl ztunnel-config / proxy-config do: read a node agent's or a
waypoint's admin API (/config_dump, /debug/*; loopback 127.0.0.1:15000 by default) or ambit
control's monitoring port (/debug/resources on 15014, the cluster-wide view).

Commands:
  workloads      workloads: NAMESPACE, POD NAME, ADDRESS, NODE, WAYPOINT, PROTOCOL
  services       services: NAMESPACE, SERVICE NAME, SERVICE VIP, WAYPOINT, ENDPOINTS (healthy/total)
  policies       L4 authorization policies: NAMESPACE, POLICY NAME, ACTION, SCOPE
  certificates   the agent's workload certificates, one row per certificate of each chain
  connections    the agent's open connections (inbound and outbound) of its workloads
  all            all of the above that the process has
  explain        the route a connection takes and the authorization verdict at its destination,
                 computed by the agent's own routing and policy code on its live state
                 (--from <namespace>/<pod>|<ip> --to <host>:<port>; host an IP, [IPv6],
                 <namespace>/<pod> or a service hostname: FQDN, <name>.<namespace> or <name>)
  routes         a waypoint's route table: routes per service port in order, clusters and endpoints

Flags:
  --node-agent ADDR   a node agent's admin API, host:port (default 127.0.0.1:15000)
  --control ADDR      ambit control's monitoring port, host:port (default port 15014):
                      workloads, services, policies, all as the control plane serves them
  --waypoint ADDR     a waypoint's admin API, host:port (routes; default 127.0.0.1:15000)
  -o, --output FMT    table (default), json or yaml
  -n, --namespace NS  only this namespace
  --raw               connections: addresses as they are, not named after services and pods
  --timeout DURATION  per request (default 5s)
  -h, --help          this text

Exit status: 0 done, 1 the process could not be read (unreachable, not Ambit, version skew),
2 invalid command line or explain query.

Examples:
  ambit ctl workloads -n default
  ambit ctl services --control 127.0.0.1:15014 -o yaml
  ambit ctl explain --from default/sleep --to reviews.default:9080
  kubectl -n ambit-system port-forward pod/ambit-node-x7k2p 15000:15000 & ambit ctl connections
  ambit ctl routes --waypoint 127.0.0.1:15001
`;
