// The node agent's side of ZDS (ztunnel src/inpod/linux/workloadmanager.rs): connects to istio-cni's
// Unix SOCK_SEQPACKET socket (INPOD_UDS), says hello, then turns each request into a change of the
// pod registry and answers it with an Ack once the change is done (an Add: once the pod's listeners
// are bound) or with Ack{error}. A protocol error is NACKed and ends the connection; the agent
// reconnects (at once, then 10 ms doubling to 15 s) and istio-cni replays its pods.
//
// Invariant: requests are handled one at a time, in order, each acked before the next is read.
// Pods outlive connections: a lost connection changes nothing until the next SnapshotSent.

import type { Logger } from '../common/log.js';
import { MeshError } from '../common/errors.js';
import type { ErrorCounter } from '../metrics/index.js';
import { SeqpacketSocket, type NativeSockets, type SeqpacketDatagram } from '../sockets/index.js';
import type { InpodManager } from './inpod-manager.js';
import { encodeAck, encodeZdsHello } from './zds-codec.js';
import { parseZdsDatagram, ZDS_MAX_DATAGRAM_BYTES, type ZdsMessage } from './zds-datagram.js';
import type { ZdsPodSource } from './zds-pod-source.js';
import { NEW_SESSION, zdsTransition, type ZdsSessionState } from './zds-session.js';

/** ztunnel's reconnect backoff: the first retry after 10 ms, doubling, capped at 15 s. */
export const ZDS_BACKOFF_INITIAL_MS = 10;
export const ZDS_BACKOFF_MAX_MS = 15_000;
/** The readiness task held while the pods are not known to be in place (ztunnel's name). */
export const ZDS_READINESS_TASK = 'workload proxy manager';

export interface ZdsClientInputs {
  /** istio-cni's socket (INPOD_UDS). */
  readonly path: string;
  readonly native: NativeSockets;
  readonly pods: ZdsPodSource;
  readonly manager: InpodManager;
  /** Registers a pending readiness task; returns its release (the agent's Readiness.register). */
  readonly readiness: (task: string) => () => void;
  readonly errors: ErrorCounter;
  readonly logger: Logger;
}

export type ZdsConnectionState = 'connecting' | 'connected' | 'closed';

export interface ZdsClientDump {
  readonly path: string;
  readonly state: ZdsConnectionState;
  /** Connections made so far. */
  readonly connections: number;
  /** SnapshotSent received on the current connection. */
  readonly snapshotSent: boolean;
  readonly lastError: string | undefined;
}

interface Connection {
  readonly socket: SeqpacketSocket;
  session: ZdsSessionState;
}

export class ZdsClient {
  private state: ZdsConnectionState = 'connecting';
  private conn: Connection | undefined;
  private backoffMs = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connections = 0;
  private lastError: string | undefined;
  /** The pending readiness task's release while not ready; undefined while ready. */
  private notReady: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  /** The request being handled, if any (close() waits for it). */
  private inFlight: Promise<void> | undefined;

  constructor(private readonly inputs: ZdsClientInputs) {
    this.notReady = inputs.readiness(ZDS_READINESS_TASK);
    this.unsubscribe = inputs.manager.onChange(() => this.updateReadiness());
  }

  start(): void {
    this.connect();
  }

  dump(): ZdsClientDump {
    return {
      path: this.inputs.path,
      state: this.state,
      connections: this.connections,
      snapshotSent: this.conn?.session.snapshotSent ?? false,
      lastError: this.lastError,
    };
  }

  /** Ready once a snapshot was received on the current connection and no pod is pending (ztunnel). */
  private updateReadiness(): void {
    const ready = this.conn !== undefined && this.conn.session.snapshotSent && this.inputs.manager.pending().length === 0;
    if (ready && this.notReady) {
      this.notReady();
      this.notReady = undefined;
      this.inputs.logger.info('workload proxy manager is ready');
    } else if (!ready && !this.notReady && this.state !== 'closed') {
      this.notReady = this.inputs.readiness(ZDS_READINESS_TASK);
    }
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this.state === 'closed') return;
    const { logger, native, path } = this.inputs;
    let socket: SeqpacketSocket;
    try {
      socket = SeqpacketSocket.connect(native, path, ZDS_MAX_DATAGRAM_BYTES);
    } catch (err) {
      this.backoffMs = this.backoffMs === 0 ? ZDS_BACKOFF_INITIAL_MS : Math.min(ZDS_BACKOFF_MAX_MS, this.backoffMs * 2);
      this.lastError = `connect ${path}: ${(err as Error).message}`;
      this.inputs.errors.inc('zds', 'ZDS_CONNECTION');
      logger.warn({ path, err: (err as Error).message, retryInMs: this.backoffMs }, 'cannot connect to istio-cni (ZDS); retrying');
      this.reconnectTimer = setTimeout(() => this.connect(), this.backoffMs);
      return;
    }
    this.connections++;
    const conn: Connection = { socket, session: NEW_SESSION };
    this.conn = conn;
    this.state = 'connected';
    socket.start({
      message: (d) => this.onDatagram(conn, d),
      close: (err) => this.onClosed(conn, err === undefined ? 'istio-cni closed the connection' : err.message),
    });
    try {
      socket.send(encodeZdsHello());
    } catch (err) {
      this.drop(conn, `cannot send the hello: ${(err as Error).message}`);
      return;
    }
    logger.info({ path, connection: this.connections }, 'connected to istio-cni (ZDS); hello sent');
  }

  private onClosed(conn: Connection, why: string): void {
    if (this.conn !== conn) return;
    if (!conn.session.snapshotSent && this.backoffMs === 0) this.backoffMs = ZDS_BACKOFF_INITIAL_MS;
    this.conn = undefined;
    this.lastError = why;
    this.inputs.logger.warn({ reason: why }, 'ZDS connection ended; reconnecting');
    this.afterDisconnect();
  }

  /** Ends `conn` from our side (after a NACK, or a failed send) and reconnects. */
  private drop(conn: Connection, why: string): void {
    if (this.conn !== conn) return;
    if (!conn.session.snapshotSent && this.backoffMs === 0) this.backoffMs = ZDS_BACKOFF_INITIAL_MS;
    this.conn = undefined;
    this.lastError = why;
    conn.socket.destroy();
    this.afterDisconnect();
  }

  private afterDisconnect(): void {
    this.updateReadiness();
    if (this.state === 'closed') return;
    this.state = 'connecting';
    // As ztunnel: after a connection that got its snapshot, the first attempt at once (backoffMs was
    // reset then). One that ended before its snapshot counts as a failed attempt, so a peer that
    // accepts and hangs up at once is retried with backoff, never in a tight loop.
    this.reconnectTimer = setTimeout(() => this.connect(), this.backoffMs);
    if (this.backoffMs > 0) this.backoffMs = Math.min(ZDS_BACKOFF_MAX_MS, this.backoffMs * 2);
  }

  private onDatagram(conn: Connection, d: SeqpacketDatagram): Promise<void> {
    const p = this.handle(conn, d).catch((err: unknown) => {
      this.inputs.logger.error({ err }, 'ZDS request handling failed');
      this.drop(conn, `internal error: ${(err as Error).message}`);
    });
    this.inFlight = p;
    return p;
  }

  private async handle(conn: Connection, d: SeqpacketDatagram): Promise<void> {
    const parsed = parseZdsDatagram(d);
    if (!parsed.ok) {
      for (const fd of parsed.closeFds) this.closeFd(fd);
      return this.refuse(conn, parsed.reason);
    }
    const m = parsed.message;
    if (this.state === 'closed') {
      if (m.kind === 'add') this.closeFd(m.netnsFd);
      return;
    }
    const { state, action } = zdsTransition(conn.session, m);
    conn.session = state;
    const { pods, manager, logger } = this.inputs;
    switch (action.do) {
      case 'refuse':
        return this.refuse(conn, action.reason);
      case 'add':
        return this.ack(conn, m, await this.add(action.message));
      case 'keep':
        logger.info({ pod: action.uid }, 'ZDS keep: the pod survives the snapshot if held');
        return this.ack(conn, m, '');
      case 'del':
        logger.info({ pod: action.uid }, 'ZDS del: removing the pod');
        pods.delete(action.uid);
        await manager.reconcile();
        return this.ack(conn, m, '');
      case 'forget': {
        // Before the snapshot a running pod stays until the reconciliation; one that is not running
        // (starting or retrying) goes now, so it stops retrying.
        const st = manager.podStatus(action.uid);
        if (st && st.state !== 'running') {
          pods.delete(action.uid);
          await manager.reconcile();
        }
        return this.ack(conn, m, '');
      }
      case 'reconcile': {
        const gone = pods.retainOnly(action.keep);
        logger.info({ kept: pods.current().length, removed: gone }, 'ZDS snapshot complete; pods not in it are removed');
        await manager.reconcile();
        this.ack(conn, m, '');
        // A healthy connection: the next reconnect (if this one ends) is immediate.
        this.backoffMs = 0;
        this.updateReadiness();
        return;
      }
    }
  }

  /** Starts (or keeps, or replaces) the pod; '' once its listeners are bound, else the error to NACK with. */
  private async add(m: Extract<ZdsMessage, { kind: 'add' }>): Promise<string> {
    const { pods, manager, native, logger } = this.inputs;
    let inode: number;
    try {
      inode = native.netnsFdInode(m.netnsFd);
    } catch (err) {
      this.closeFd(m.netnsFd);
      this.inputs.errors.inc('zds', 'ZDS_PROTOCOL');
      const reason = `AddWorkload ${m.uid}: the fd is not a network namespace: ${(err as Error).message}`;
      logger.warn({ pod: m.uid, reason }, 'ZDS add refused');
      return reason;
    }
    const outcome = pods.upsert(m.uid, m.info, m.netnsFd, inode);
    logger.info({ pod: m.uid, workload: `${m.info.namespace}/${m.info.name}`, inode, outcome }, 'ZDS add');
    if (outcome === 'same') await manager.retryNow(m.uid);
    else await manager.reconcile();
    const st = manager.podStatus(m.uid);
    if (st?.state === 'running') return '';
    return `failure to start proxy: ${st?.error ?? 'the pod is not registered (agent closing?)'}`;
  }

  private ack(conn: Connection, m: ZdsMessage, error: string): void {
    if (this.conn !== conn) return;
    if (error) this.inputs.logger.warn({ request: m.kind, pod: 'uid' in m ? m.uid : undefined, error }, 'ZDS request failed; sent Ack with the error');
    try {
      conn.socket.send(encodeAck(error));
    } catch (err) {
      this.drop(conn, `cannot send an ack: ${(err as Error).message}`);
    }
  }

  /** NACK with `reason`, then drop the connection (ztunnel: a protocol error is not recoverable in-stream). */
  private refuse(conn: Connection, reason: string): void {
    if (this.conn !== conn) return;
    const err = new MeshError('ZDS_PROTOCOL', reason);
    this.inputs.errors.inc('zds', err.code);
    this.inputs.logger.warn({ reason, code: err.code }, 'ZDS protocol error: NACKed; dropping the connection');
    try {
      conn.socket.send(encodeAck(`failure to process message: ${reason}`));
    } catch {
      // the connection is dropped anyway
    }
    this.drop(conn, `protocol error: ${reason}`);
  }

  private closeFd(fd: number): void {
    try {
      this.inputs.native.closeSocket(fd);
    } catch {
      // closed already
    }
  }

  /** Stops reading and reconnecting; a request in flight finishes first. Pods are the registry's to drain. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.reconnectTimer);
    this.unsubscribe();
    await this.inFlight;
    this.destroy();
  }

  destroy(): void {
    this.state = 'closed';
    clearTimeout(this.reconnectTimer);
    this.unsubscribe();
    const conn = this.conn;
    this.conn = undefined;
    conn?.socket.destroy();
  }
}
