import { Counter, Histogram, type Registry } from 'prom-client';

/** The real API server's request metrics, registered once per registry. */
export class ApiMetrics {
  private readonly requests: Counter<'verb' | 'resource' | 'subresource' | 'code'>;
  private readonly durations: Histogram<'verb' | 'resource' | 'subresource'>;

  constructor(registry: Registry) {
    this.requests =
      (registry.getSingleMetric('apiserver_request_total') as Counter<
        'verb' | 'resource' | 'subresource' | 'code'
      >) ??
      new Counter({
        name: 'apiserver_request_total',
        help: 'Counter of apiserver requests broken out for each verb, resource, subresource and HTTP response code.',
        labelNames: ['verb', 'resource', 'subresource', 'code'],
        registers: [registry],
      });
    this.durations =
      (registry.getSingleMetric('apiserver_request_duration_seconds') as Histogram<
        'verb' | 'resource' | 'subresource'
      >) ??
      new Histogram({
        name: 'apiserver_request_duration_seconds',
        help: 'Response latency distribution in seconds for each verb, resource and subresource.',
        labelNames: ['verb', 'resource', 'subresource'],
        buckets: [
          0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
        ],
        registers: [registry],
      });
  }

  observe(
    labels: { verb: string; resource: string; subresource: string },
    code: number,
    seconds: number,
  ): void {
    this.requests.inc({ ...labels, code: String(code) });
    this.durations.observe(labels, seconds);
  }
}
