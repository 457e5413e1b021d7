// Random choices on the request path: the backend by weight (Gateway API backendRef weight,
// Envoy weighted_clusters) and percentages (mirror percent, fault delay/abort percentage).

/**
 * Weighted choice: share = weight/sum; weight 0 (or negative, or NaN) is never chosen;
 * undefined when the sum is 0. `random` returns [0,1). Allocation-free, O(n): routes carry at
 * most 16 backendRefs per rule.
 */
export function pickWeighted<T extends { readonly weight: number }>(items: readonly T[], random: () => number): T | undefined {
  let sum = 0;
  for (const item of items) if (item.weight > 0) sum += item.weight;
  if (!(sum > 0)) return undefined;
  const r = random() * sum;
  let acc = 0;
  let last: T | undefined;
  for (const item of items) {
    if (!(item.weight > 0)) continue;
    acc += item.weight;
    last = item;
    if (r < acc) return item;
  }
  // Only reachable through floating-point rounding of the sum: the last eligible item.
  return last;
}

/** True with probability percent/100 (0 ⇒ never, 100 ⇒ always; fractions allowed). */
export function chance(percent: number, random: () => number): boolean {
  if (!(percent > 0)) return false;
  if (percent >= 100) return true;
  return random() * 100 < percent;
}
