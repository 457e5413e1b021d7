// Names the network namespace a socket is made in: a netns file path (own-rules mode, tests), or an
// fd the agent holds open (ZDS: istio-cni hands each pod's netns over as an SCM_RIGHTS fd).

/** An open netns fd and the name it is shown by in errors and logs (e.g. the pod uid). */
export interface NetnsFd {
  readonly fd: number;
  readonly name: string;
}

/** A netns file path, or an open netns fd. */
export type NetnsTarget = string | NetnsFd;

/** The addon's options naming `target` (createSocket(s) `netns` or `netnsFd`); {} for the agent's own. */
export function netnsOptions(target: NetnsTarget | undefined): { netns?: string; netnsFd?: number } {
  if (target === undefined) return {};
  return typeof target === 'string' ? { netns: target } : { netnsFd: target.fd };
}

/** "/var/run/netns/x", or "fd 23 (pod-uid)". */
export function describeNetns(target: NetnsTarget): string {
  return typeof target === 'string' ? target : `fd ${target.fd} (${target.name})`;
}

/** Whether two targets name the same netns the same way (same path, or same fd). */
export function sameNetnsTarget(a: NetnsTarget | undefined, b: NetnsTarget | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.fd === b.fd;
}
