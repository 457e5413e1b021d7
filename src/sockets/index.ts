// Public surface of the sockets module: the native addon (SO_ORIGINAL_DST, SO_MARK, transparent
// sockets, sockets created inside a network namespace, Unix SEQPACKET with SCM_RIGHTS) and the
// Node sockets built on it; and the heap trimmer (glibc malloc_trim on the threadpool).

export {
  loadNativeSockets,
  defaultAddonPath,
  type NativeSockets,
  type NativeSocketsLoad,
  type NativeSocketError,
  type LoadNativeSocketsOptions,
  type CreateSocketOptions,
  type CreateSocketsOptions,
  type SocketOptions,
  type SocketOptionsReadback,
  type NetAddr,
  type SeqpacketDatagram,
  type ReadableWatch,
  type NativeHeapTrim,
} from './native-loader.js';
export { describeNetns, netnsOptions, sameNetnsTarget, type NetnsFd, type NetnsTarget } from './netns-target.js';
export { SeqpacketSocket, type SeqpacketSocketEvents } from './seqpacket-socket.js';
export { createSocketFd, listenInNetns, connectInNetns, type ListenInNetnsOptions, type ConnectInNetnsOptions } from './netns-socket.js';
export { NetnsSocketPool, type NetnsSocketPoolOptions, type SocketPoolKey } from './netns-socket-pool.js';
export { originalDstOf, fdOf } from './original-dst.js';
export { normalizeIp, formatNetAddr } from './net-addr.js';
export { trimHeap, type HeapTrimResult } from './heap-trim.js';
export { fullGc } from './full-gc.js';
export { decideHeapTrim, heapTrimStateAfter, type HeapTrimDecision, type HeapTrimPolicy, type HeapTrimReason, type HeapTrimSample, type HeapTrimState } from './heap-trim-policy.js';
export { HeapTrimmer, type HeapTrimmerOptions, type HeapTrimOutcome } from './heap-trimmer.js';
