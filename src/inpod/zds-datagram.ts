// One ZDS datagram as received (bytes plus SCM_RIGHTS fds) → a request, or the reason it is refused.
// Pure. The fd rules follow ztunnel src/inpod/linux/protocol.rs: fds are taken before anything else
// is checked so none leaks; exactly one fd, on AddWorkload only; truncation is an error.

import { isMeshError } from '../common/errors.js';
import { decodeWorkloadRequest, type ZdsRequest, type ZdsWorkloadInfo } from './zds-codec.js';

/** ztunnel's (and istio-cni's) receive buffer: a datagram longer than this is truncated, an error. */
export const ZDS_MAX_DATAGRAM_BYTES = 1024;

export interface ZdsDatagram {
  readonly data: Uint8Array;
  readonly fds: readonly number[];
  readonly truncated: boolean;
  readonly controlTruncated: boolean;
}

/** A request as the session sees it: an AddWorkload comes with its netns fd and its workload info. */
export type ZdsMessage =
  | { readonly kind: 'add'; readonly uid: string; readonly info: ZdsWorkloadInfo; readonly netnsFd: number }
  | Exclude<ZdsRequest, { kind: 'add' }>;

export type ZdsParse =
  | { readonly ok: true; readonly message: ZdsMessage }
  /** `closeFds`: every fd received, which nobody will own. */
  | { readonly ok: false; readonly reason: string; readonly closeFds: readonly number[] };

const NAMES: Record<ZdsRequest['kind'], string> = { add: 'AddWorkload', keep: 'KeepWorkload', del: 'DelWorkload', 'snapshot-sent': 'SnapshotSent' };

export function parseZdsDatagram(d: ZdsDatagram): ZdsParse {
  const refuse = (reason: string): ZdsParse => ({ ok: false, reason, closeFds: d.fds });
  if (d.truncated) return refuse(`received a truncated message (longer than ${ZDS_MAX_DATAGRAM_BYTES} bytes)`);
  if (d.controlTruncated) return refuse('received truncated ancillary data (too many fds)');
  if (d.fds.length > 1) return refuse(`expected at most 1 fd, got ${d.fds.length}`);
  let req: ZdsRequest;
  try {
    req = decodeWorkloadRequest(d.data);
  } catch (err) {
    if (isMeshError(err)) return refuse(err.message);
    throw err;
  }
  const fd = d.fds[0];
  if (req.kind !== 'add') {
    if (fd !== undefined) return refuse(`unexpected fd (SCM_RIGHTS) on ${NAMES[req.kind]}: only AddWorkload carries one`);
    return { ok: true, message: req };
  }
  if (fd === undefined) return refuse(`AddWorkload ${req.uid} without its netns fd (SCM_RIGHTS)`);
  if (!req.info) return refuse(`AddWorkload ${req.uid} without workload_info, which is required`);
  return { ok: true, message: { kind: 'add', uid: req.uid, info: req.info, netnsFd: fd } };
}
