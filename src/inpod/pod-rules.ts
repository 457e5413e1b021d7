// One pod's redirect rules as a resource: installed once per pod (by whichever thread owns the pod
// registry), removed exactly once on teardown, tolerant of a netns that vanished meanwhile.

import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import { installRedirectRules, removeRedirectRules } from './redirect-rules.js';
import type { IpFamily } from './redirect-rule-set.js';

/** ztunnel's packet mark for its own sockets in shared mode (PACKET_MARK). */
export const PACKET_MARK = 1337;

export class PodRules {
  private installed = false;

  constructor(
    private readonly netns: string,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  /** Installs the rules; returns the IP families they cover (v6 only where the netns has IPv6). */
  async install(): Promise<IpFamily[]> {
    const ports = this.config.ports;
    const families = await installRedirectRules(this.netns, {
      outboundPort: ports.outbound,
      inboundPlaintextPort: ports.inboundPlaintext,
      hbonePort: ports.hbone,
      mark: PACKET_MARK,
    });
    this.installed = true;
    return families;
  }

  /** Removes them if installed; never throws (a vanished netns has nothing left to remove). */
  async remove(): Promise<void> {
    if (!this.installed) return;
    this.installed = false;
    await removeRedirectRules(this.netns).catch((err: unknown) =>
      this.logger.warn({ err: (err as Error).message, netns: this.netns }, 'could not remove redirect rules (netns gone?)'),
    );
  }
}
