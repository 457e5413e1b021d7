// The Node.js/V8 flags the agent runs with wherever Ambit launches it (the `ambit` shebang, npm
// start, the image's ENTRYPOINT, the demo and the benchmarks): one list, so all measure the same.

/**
 * `--single-threaded-gc`: V8's parallel/concurrent GC helper threads compete with the data path
 * for the node's cores (on 2 cores they cost more than they save); measured +29% single-stream
 * HBONE throughput and -20% CPU per MB (README, Performance).
 *
 * `--max-semi-space-size=4` (MB): V8's young generation grows to 2 × 16 MB semi-spaces under
 * allocation pressure (a waypoint under load, a manifests translation); capped at 2 × 4 MB it
 * costs 24 MB less RSS in the waypoint under load and 13 MB less in a manifests-mode waypoint at
 * start, for a CPU cost within the noise of 6 alternating A/B rounds (+2% per request, +2% per MB
 * through HBONE, paired medians; README, Memory). `=2` cost +20% CPU in an earlier round.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--max-semi-space-size=4'];
