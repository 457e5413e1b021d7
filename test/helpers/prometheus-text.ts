// Reading Prometheus text exposition in tests and the bench: summing a metric's samples. No
// imports, so light callers (the bench runner) do not load the agent with it.

/** Sum of a metric's samples whose label set includes every given label (`{}`: all its samples). */
export function metricSum(body: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
