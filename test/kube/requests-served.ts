import type { Counter } from 'prom-client';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';

/** How many requests of `verb` on `resource` the sandbox has served (its apiserver_request_total). */
export async function requestsServed(
  sandbox: RunningSandbox,
  verb: string,
  resource: string,
): Promise<number> {
  const counter = sandbox.box.ctx.metrics.getSingleMetric('apiserver_request_total') as Counter | undefined;
  let served = 0;
  for (const v of (await counter?.get())?.values ?? [])
    if (v.labels.verb === verb && v.labels.resource === resource && !v.labels.subresource) served += v.value;
  return served;
}

/** Eviction requests the sandbox has answered, and how many of them a disruption budget refused (429). */
export async function evictionsServed(sandbox: RunningSandbox): Promise<{ sent: number; refused: number }> {
  const counter = sandbox.box.ctx.metrics.getSingleMetric('apiserver_request_total') as Counter | undefined;
  const served = { sent: 0, refused: 0 };
  for (const v of (await counter?.get())?.values ?? []) {
    if (v.labels.subresource !== 'eviction') continue;
    served.sent += v.value;
    if (String(v.labels.code) === '429') served.refused += v.value;
  }
  return served;
}
