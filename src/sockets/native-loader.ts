// Loads the native socket addon (build/Release/ambit_sockets.node) and states its contract.
// Loading never throws: without the addon the agent still runs (SOCKS5 only), so callers get a reason.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An IP (v4 dotted or v6 text) and a TCP port. */
export interface NetAddr {
  readonly ip: string;
  readonly port: number;
}

/** Options applied with setsockopt; absent = left as the kernel has it. */
export interface SocketOptions {
  /** SO_MARK (needs CAP_NET_ADMIN). */
  readonly mark?: number;
  /** IP_TRANSPARENT / IPV6_TRANSPARENT: bind and send from addresses this host does not own. */
  readonly transparent?: boolean;
  /** IP_FREEBIND / IPV6_FREEBIND: bind to an address not (yet) configured. */
  readonly freebind?: boolean;
  /** TCP_NODELAY. */
  readonly noDelay?: boolean;
  /**
   * TCP keepalive after this many idle seconds (SO_KEEPALIVE, TCP_KEEPIDLE), probing every second
   * up to 10 times: exactly what Node's `setKeepAlive(true, s * 1000)` sets (libuv). 0 = unchanged.
   */
  readonly keepAliveS?: number;
}

export interface CreateSocketOptions extends SocketOptions {
  /** Netns file (/var/run/netns/NAME, /proc/PID/ns/net, /proc/self/fd/N); absent = the agent's own. */
  readonly netns?: string;
  /**
   * Or an open netns fd (exclusive with `netns`), e.g. one istio-cni handed over by ZDS. The addon
   * dups it when called, so the caller may close its fd once the call has returned.
   */
  readonly netnsFd?: number;
  readonly family: 4 | 6;
  readonly reuseAddr?: boolean;
  readonly reusePort?: boolean;
  /** An IPv4 address on a family-6 socket is bound as ::ffff:a.b.c.d. Port 0 = ephemeral. */
  readonly bind?: { readonly ip: string; readonly port?: number };
  /** Backlog: when set, the socket is bound (bind is then required) and listening. */
  readonly listen?: number;
}

/** What createSockets takes: createSocket's options without bind, listen and reuse*. */
export interface CreateSocketsOptions extends SocketOptions {
  /** Netns file; absent = the agent's own. */
  readonly netns?: string;
  /** Or an open netns fd (exclusive with `netns`; dup'd by the call, as createSocket's). */
  readonly netnsFd?: number;
  readonly family: 4 | 6;
}

/** Errors from the addon: `code` is the errno name, `syscall` the failing step (e.g. 'setns', 'bind'). */
export interface NativeSocketError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
}

export interface SocketOptionsReadback {
  readonly mark: number;
  readonly transparent: boolean;
  readonly freebind: boolean;
  readonly family: 4 | 6;
  readonly noDelay: boolean;
  /** TCP_KEEPIDLE in seconds when SO_KEEPALIVE is on, else 0. */
  readonly keepAliveS: number;
}

/** The addon's exports (native/ambit_sockets.c). fds are SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC. */
export interface NativeSockets {
  /** SO_ORIGINAL_DST (v4, then IP6T_SO_ORIGINAL_DST on v6 sockets); undefined when not redirected. */
  originalDst(fd: number): NetAddr | undefined;
  /** Creates a TCP socket (inside `netns` on a threadpool thread); the caller owns the fd. */
  createSocket(options: CreateSocketOptions, callback: (err: NativeSocketError | null, fd?: number) => void): void;
  /**
   * Creates `count` (1..256) unbound TCP sockets with `options` in ONE threadpool work item (the
   * netns is entered once), for a socket pool. All or nothing: on a failure part-way the fds made
   * so far are closed and `err` is as createSocket's (step 'socket', 'setsockopt SO_MARK', 'setns'...).
   * The caller owns every fd. Each fd pins its netns until closed.
   */
  createSockets(options: CreateSocketsOptions, count: number, callback: (err: NativeSocketError | null, fds?: number[]) => void): void;
  /**
   * Binds an existing socket, synchronously (any thread: a socket's netns is fixed at creation).
   * An IPv4 `ip` on a family-6 socket is bound as ::ffff:a.b.c.d; port 0/absent = ephemeral.
   * Throws NativeSocketError (syscall 'bind', code e.g. 'EADDRNOTAVAIL'); TypeError on a bad ip.
   */
  bindSocket(fd: number, address: { readonly ip: string; readonly port?: number }): void;
  setSocketOptions(fd: number, options: SocketOptions): void;
  getSocketOptions(fd: number): SocketOptionsReadback;
  /** Inode of a netns file: two paths name the same netns iff their inodes are equal. */
  socketNetnsInode(path: string): number;
  /** Inode of the netns a socket lives in (ioctl SIOCGSKNS). */
  netnsInodeOfSocket(fd: number): number;
  /** Closes an fd from createSocket(s) that nobody adopted (no fs warning inside worker threads). */
  closeSocket(fd: number): void;
  /**
   * Inode of the netns an fd refers to (equal inodes = the same netns). Throws NativeSocketError
   * (code EINVAL, syscall 'NS_GET_NSTYPE') when the fd is not a network namespace.
   */
  netnsFdInode(fd: number): number;
  /**
   * A non-blocking, close-on-exec Unix SOCK_SEQPACKET socket connected to `path`. Throws
   * NativeSocketError (syscall 'connect', code e.g. ENOENT, ECONNREFUSED, EAGAIN).
   */
  seqpacketConnect(path: string): number;
  /** Sends one datagram, whole (MSG_NOSIGNAL, never blocks). Throws NativeSocketError (EAGAIN, EPIPE...). */
  seqpacketSend(fd: number, bytes: Uint8Array): void;
  /**
   * Receives one datagram of at most `maxBytes` (1..65536), with its SCM_RIGHTS fds (close-on-exec;
   * the caller owns them); null when none is queued. Zero bytes and no fds = the peer closed.
   */
  seqpacketRecv(fd: number, maxBytes: number): SeqpacketDatagram | null;
  /**
   * Calls `callback` on the event loop while `fd` is readable (level-triggered) or the peer hung up.
   * close() the watch before closing the fd.
   */
  pollReadable(fd: number, callback: (err: NativeSocketError | null, disconnected: boolean) => void): ReadableWatch;
  /**
   * glibc's malloc_trim(0) on a threadpool thread (every arena: free whole pages go back to the
   * kernel); the event loop never waits for it. Outside glibc: `released` false, no figures.
   */
  trimHeap(callback: (err: NativeSocketError | null, result?: NativeHeapTrim) => void): void;
}

/** What one native trimHeap did. */
export interface NativeHeapTrim {
  /**
   * malloc_trim's answer: it madvised some pages back to the kernel. glibc says true whenever a free
   * chunk spans a whole page, resident or not, so this is nearly always true: RSS tells what came back.
   */
  readonly released: boolean;
  /** The addon was built against glibc (elsewhere there is no malloc_trim: released is always false). */
  readonly glibc: boolean;
  /** Time malloc_trim itself took on the threadpool thread, ms. */
  readonly durationMs: number;
  /** mallinfo2 (glibc >= 2.33) around the trim: bytes the arenas hold from the kernel (brk + heaps). */
  readonly arenaBytesBefore?: number;
  readonly arenaBytesAfter?: number;
  /** mallinfo2 `fordblks`: bytes in free chunks (their whole pages are what a trim can give back). */
  readonly freeBytesBefore?: number;
  readonly freeBytesAfter?: number;
}

/** One SEQPACKET datagram as received. */
export interface SeqpacketDatagram {
  readonly data: Buffer;
  readonly fds: readonly number[];
  /** MSG_TRUNC: the datagram was longer than maxBytes (the rest is lost). */
  readonly truncated: boolean;
  /** MSG_CTRUNC: ancillary data was cut (fds past the buffer were closed by the kernel). */
  readonly controlTruncated: boolean;
}

/** A readability watch on an fd (uv_poll). */
export interface ReadableWatch {
  pause(): void;
  resume(): void;
  /** Idempotent. */
  close(): void;
}

export type NativeSocketsLoad = { readonly ok: true; readonly native: NativeSockets } | { readonly ok: false; readonly reason: string };

const REQUIRED_FUNCTIONS = [
  'originalDst',
  'createSocket',
  'createSockets',
  'bindSocket',
  'setSocketOptions',
  'getSocketOptions',
  'socketNetnsInode',
  'netnsInodeOfSocket',
  'closeSocket',
  'netnsFdInode',
  'seqpacketConnect',
  'seqpacketSend',
  'seqpacketRecv',
  'pollReadable',
  'trimHeap',
] as const;

/** The repository root: the nearest ancestor of this file holding a package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function defaultAddonPath(): string {
  return join(packageRoot(), 'build', 'Release', 'ambit_sockets.node');
}

export interface LoadNativeSocketsOptions {
  /** Overrides build/Release/ambit_sockets.node under the package root. */
  readonly addonPath?: string;
}

/** Loads the addon; on failure the reason is one line saying what is wrong and how to fix it. */
export function loadNativeSockets(options: LoadNativeSocketsOptions = {}): NativeSocketsLoad {
  const path = options.addonPath ?? defaultAddonPath();
  if (process.platform !== 'linux') {
    return { ok: false, reason: `native socket addon needs Linux (platform is ${process.platform}); transparent capture is off` };
  }
  if (!existsSync(path)) {
    return {
      ok: false,
      reason: `native addon not built: ${path} missing (run npm rebuild; it needs python3, make and a C compiler)`,
    };
  }
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)(path);
  } catch (err) {
    return { ok: false, reason: `native addon ${path} failed to load: ${(err as Error).message.split('\n')[0]} (run npm rebuild)` };
  }
  const exports = mod as Record<string, unknown>;
  const missing = REQUIRED_FUNCTIONS.filter((name) => typeof exports[name] !== 'function');
  if (missing.length > 0) {
    return { ok: false, reason: `native addon ${path} lacks ${missing.join(', ')} (stale build? run npm rebuild)` };
  }
  return { ok: true, native: mod as NativeSockets };
}
