// The benchmark harness's measurement library: tool runners (each takes a RunIn saying where it runs),
// load generators (ours, wrk), process sampling, the stunnel and nginx reference proxies, progress and report writers.

export { runHere, inNetns, withNofile, runTool, spawnTool, tail } from './run-in.js';
export type { RunIn, ToolResult, RunToolOptions, ToolProcess } from './run-in.js';
export { summarizeMicros, percentileOfSorted } from './latency-stats.js';
export type { LatencySummary } from './latency-stats.js';
export { runLoad, runLoadIn, parseTarget, loadGeneratorCommand, LOAD_GENERATOR_CLI } from './load-generator.js';
export type { HttpTarget, LoadOptions, LoadResult } from './load-generator.js';
export { runHey, parseHeyOutput, checkAgainstHey, comparePercentiles, DEFAULT_PERCENTILE_TOLERANCE } from './percentiles-check.js';
export type { HeyResult, FixedRateOptions, PercentilesCheck, PercentileTolerance, Quantile, QuantileComparison, PercentilesComparison } from './percentiles-check.js';
export { startIperfServer, runIperfClient, runIperf, parseIperfJson, iperfClientCommand } from './iperf.js';
export type { IperfServer, IperfServerOptions, IperfClientOptions, IperfResult } from './iperf.js';
export { runConnRate, runConnRateIn, CONN_RATE_CLI } from './conn-rate.js';
export type { ConnRateOptions, ConnRateResult } from './conn-rate.js';
export { IdleConnections, holdIdleConnections, holdIdleConnectionsIn, nofileLimit, IDLE_CONNECTIONS_CLI } from './idle-connections.js';
export type { IdleOptions, IdleSummary } from './idle-connections.js';
export { clockTicksPerSecond, readCpuSeconds, readMemory, resetPeakRss, ProcessSampler, measureProcess } from './process-stats.js';
export type { MemoryStats, ProcessUsage } from './process-stats.js';
export { stunnelConfig, writeStunnelFiles, StunnelInstance, startStunnel, startStunnelPath, BENCH_STUNNEL_LOGGING } from './stunnel.js';
export type { StunnelTls, StunnelRole, StunnelOptions, StunnelFiles, StunnelPath, StunnelLogging, StunnelLogLevel } from './stunnel.js';
export { nginxConfig, childPids, NginxProxy, startNginx, NGINX_BIN, BENCH_NGINX_LOG_LEVEL, BENCH_NGINX_UPSTREAM_KEEPALIVE, NGINX_KEEPALIVE_REQUESTS } from './nginx.js';
export type { NginxOptions } from './nginx.js';
export { runWrkIn, wrkCommand, parseWrkOutput, WRK_DONE_SCRIPT } from './wrk.js';
export type { WrkOptions, WrkResult } from './wrk.js';
export { formatTable, formatValue, formatFigure, ratio, machineInfo, writeResultJson } from './report.js';
export type { Measurement, Spread, TableOptions, MachineInfo, BenchResultFile, PathConfig } from './report.js';
export { renderBarChartSvg, niceCeil } from './chart-svg.js';
export type { ChartGroup, ChartPanel, ChartSpec } from './chart-svg.js';
export { benchChartSpec } from './bench-chart.js';
export type { BenchChartInput } from './bench-chart.js';
export { Progress, formatDuration } from './progress.js';
export type { ProgressOptions } from './progress.js';
export { BenchHttpServer, startBenchHttpServer, startBenchHttpServerIn, HTTP_SERVER_CLI } from './http-server.js';
export type { BenchHttpServerOptions, RemoteHttpServer } from './http-server.js';
export { TcpSink, sendCounted, startTcpSinkIn, sendCountedIn, TCP_SINK_CLI } from './tcp-sink.js';
export { TcpRelay, parseRoute, formatRoute, startTcpRelayIn, TCP_RELAY_CLI } from './tcp-relay.js';
export type { RelayRoute } from './tcp-relay.js';
export type { CountedTransfer } from './tcp-sink.js';
