// The Node.js/V8 flags the agent runs with wherever Ambit launches it (the `ambit` shebang, npm
// start, the image's ENTRYPOINT, the demo and the benchmarks): one list, so all measure the same.

/**
 * `--single-threaded-gc`: V8's parallel/concurrent GC helper threads compete with the data path
 * for the node's cores (on 2 cores they cost more than they save); measured +29% single-stream
 * HBONE throughput and -20% CPU per MB (README, Performance).
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];
