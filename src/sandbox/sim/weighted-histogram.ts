import type { Registry } from 'prom-client';

/** Latency spread around the mean: (multiplier, share of observations); the shares sum to 1, the mean is 1. */
const LATENCY_SPREAD: ReadonlyArray<[number, number]> = [
  [0.5, 0.2],
  [0.85, 0.4],
  [1.2, 0.3],
  [2, 0.1],
];

/**
 * A Prometheus histogram that takes an observation with a count ("40 requests took 35 ms"), so the traffic
 * model can account for thousands of requests per tick without one call per request. It registers in a
 * prom-client Registry and is exposed exactly like a prom-client Histogram (`_bucket`, `_sum`, `_count`).
 */
export class WeightedHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<
    string,
    { labels: Record<L, string>; buckets: number[]; sum: number; count: number }
  >();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    registry.removeSingleMetric(name);
    // Note: prom-client's Registry accepts any object with the metric interface (name, help, type, get()).
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  observe(labels: Record<L, string>, value: number, count = 1): void {
    if (count <= 0) return;
    const key = this.labelNames.map((n) => labels[n]).join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, buckets: this.upperBounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.upperBounds.length; i++)
      if (value <= this.upperBounds[i]!) s.buckets[i]! += count;
    s.sum += value * count;
    s.count += count;
  }

  /**
   * `count` observations spread around `mean` as latencies are (LATENCY_SPREAD): most near it, a tail at
   * twice it, so quantiles over the histogram read like a real service's or disk's.
   */
  observeAroundMean(labels: Record<L, string>, mean: number, count: number): void {
    // Note: the counts are dealt by largest remainder, so they always add up to `count`: rounding each
    // share on its own would observe nothing at all of a single request (0.2, 0.4, 0.3, 0.1 all round to 0).
    const exact = LATENCY_SPREAD.map(([, share]) => count * share);
    const counts = exact.map(Math.floor);
    let left = count - counts.reduce((a, b) => a + b, 0);
    const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
    for (const [, i] of byRemainder) {
      if (left <= 0) break;
      counts[i]!++;
      left--;
    }
    LATENCY_SPREAD.forEach(([multiplier], i) => {
      this.observe(labels, mean * multiplier, counts[i]!);
    });
  }

  reset(): void {
    this.series.clear();
  }

  get() {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const s of this.series.values()) {
      this.upperBounds.forEach((le, i) => {
        values.push({ labels: { ...s.labels, le }, value: s.buckets[i]!, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
