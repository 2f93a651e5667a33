import type { Registry } from 'prom-client';

export interface CollectedValue {
  labels: Record<string, string>;
  value: number;
}

/**
 * A gauge or counter whose values are read from the cluster at scrape time, as kube-state-metrics does,
 * instead of being set as things happen. At 150,000 pods a scrape yields over a million values; building
 * them directly costs a fraction of prom-client's per-label-set bookkeeping (`Gauge.set` per series).
 * It registers in a prom-client Registry and is exposed exactly like a prom-client metric.
 */
export class CollectedMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    private readonly collect: () => Iterable<CollectedValue>,
    registry: Registry,
  ) {
    registry.removeSingleMetric(name);
    // Note: prom-client's Registry accepts any object with the metric interface (name, help, type, get()).
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  get() {
    const values = [...this.collect()];
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
