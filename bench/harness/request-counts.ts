import type { Counter } from 'prom-client';
import type { Sandbox } from '../../src/sandbox/sandbox.ts';

/** The key under which requestCounts() adds up the evictions a budget refused. */
export const REFUSED = 'evictions refused (429)';

/**
 * The sandbox's own count of the API requests it served (apiserver_request_total, read in process), by
 * "verb resource[/subresource]"; evictions answered 429 are also added up under REFUSED.
 */
export async function requestCounts(box: Sandbox): Promise<Map<string, number>> {
  const counter = box.ctx.metrics.getSingleMetric('apiserver_request_total') as Counter | undefined;
  const out = new Map<string, number>();
  for (const v of (await counter?.get())?.values ?? []) {
    const { verb, resource, subresource } = v.labels;
    const key = `${verb} ${resource || '(non-resource)'}${subresource ? `/${subresource}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + v.value);
    if (subresource === 'eviction' && String(v.labels.code) === '429')
      out.set(REFUSED, (out.get(REFUSED) ?? 0) + v.value);
  }
  return out;
}

export function requestsSince(
  before: Map<string, number>,
  after: Map<string, number>,
): Array<[string, number]> {
  return [...after].map(([k, n]) => [k, n - (before.get(k) ?? 0)]);
}

/** A method's Kubernetes API requests, told apart from the provider's and from the refusals. */
export interface KubeRequests {
  /** By kind, most first, without the provider's upgrade API. */
  perKind: Array<[string, number]>;
  total: number;
  /** Evictions a budget refused (429). */
  refused: number;
}

/**
 * Reads what the sandbox counted: the provider's calls to the sandbox's upgrade endpoint are a cloud API's,
 * not Kubernetes API requests, so they are taken out of the non-resource counts.
 */
export function kubeRequests(
  counted: Array<[string, number]>,
  providerRequests: { GET: number; POST: number },
): KubeRequests {
  const counts = new Map(counted);
  const refused = counts.get(REFUSED) ?? 0;
  counts.delete(REFUSED);
  for (const [method, n] of Object.entries(providerRequests)) {
    const key = `${method} (non-resource)`;
    counts.set(key, (counts.get(key) ?? 0) - n);
  }
  const perKind = [...counts].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  return { perKind, total: perKind.reduce((s, [, n]) => s + n, 0), refused };
}
