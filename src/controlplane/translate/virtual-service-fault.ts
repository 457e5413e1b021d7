// VirtualService `fault` (HTTPFaultInjection) → the model's Fault, as istiod translates it
// (route.TranslateFault): delay fixedDelay and abort httpStatus/grpcStatus, each injected for
// `percentage.value` percent of requests (the deprecated integer `percent` when that is absent).
// Neither set ⇒ 0 %: nothing is injected (the Istio API text; reported as a warning).

import type { Fault } from '../../waypoint/model/route-model.js';
import { parseIstioDuration } from './istio-duration.js';
import type { RuleProblem } from './virtual-service-filters.js';

interface PercentView {
  readonly percentage?: { readonly value?: number };
  readonly percent?: number;
}

export interface FaultView {
  readonly delay?: PercentView & { readonly fixedDelay?: string; readonly exponentialDelay?: string };
  readonly abort?: PercentView & { readonly httpStatus?: number; readonly grpcStatus?: string; readonly http2Error?: string };
}

/** gRPC status names (grpc/doc/statuscodes.md) → codes, as istiod's SupportedGRPCStatus. */
const GRPC_STATUS: Readonly<Record<string, number>> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
  DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

function percentOf(p: PercentView, at: string, warnings: RuleProblem[]): number {
  if (p.percentage?.value !== undefined) return Math.min(100, Math.max(0, p.percentage.value));
  if (p.percent !== undefined) return Math.min(100, Math.max(0, p.percent));
  warnings.push({ field: `${at}.percentage`, reason: 'no percentage: nothing is injected (Istio API: set percentage.value)' });
  return 0;
}

/** The fault of one http rule; a RuleProblem drops the rule. */
export function compileFault(f: FaultView): { fault?: Fault; warnings: readonly RuleProblem[] } | RuleProblem {
  const warnings: RuleProblem[] = [];
  if (f.delay === undefined && f.abort === undefined) return { field: 'fault', reason: 'HTTP fault injection must have an abort and/or a delay' };
  const out: { delay?: Fault['delay']; abort?: Fault['abort'] } = {};
  if (f.delay !== undefined) {
    if (f.delay.exponentialDelay !== undefined) return { field: 'fault.delay.exponentialDelay', reason: 'exponentialDelay is not supported (Istio)' };
    const ms = parseIstioDuration(f.delay.fixedDelay);
    if (ms === undefined) return { field: 'fault.delay.fixedDelay', reason: f.delay.fixedDelay === undefined ? 'required field is missing' : `"${f.delay.fixedDelay}" is not a duration` };
    out.delay = { ms, percent: percentOf(f.delay, 'fault.delay', warnings) };
  }
  if (f.abort !== undefined) {
    const a = f.abort;
    if (a.http2Error !== undefined) return { field: 'fault.abort.http2Error', reason: 'HTTP/2 abort fault injection is not supported (Istio)' };
    const percent = percentOf(a, 'fault.abort', warnings);
    if (a.grpcStatus !== undefined) {
      const code = GRPC_STATUS[a.grpcStatus];
      if (code === undefined) return { field: 'fault.abort.grpcStatus', reason: `gRPC status "${a.grpcStatus}" is not a status name such as NOT_FOUND or UNAVAILABLE` };
      out.abort = { grpcStatus: code, percent };
    } else if (a.httpStatus !== undefined) {
      if (!Number.isInteger(a.httpStatus) || a.httpStatus < 200 || a.httpStatus > 599) return { field: 'fault.abort.httpStatus', reason: `HTTP status ${a.httpStatus} is not in range 200-599` };
      out.abort = { httpStatus: a.httpStatus, percent };
    } else {
      warnings.push({ field: 'fault.abort', reason: 'abort configured, but no error type (httpStatus or grpcStatus) set; no abort is injected' });
    }
  }
  return { ...(out.delay || out.abort ? { fault: out } : {}), warnings };
}
