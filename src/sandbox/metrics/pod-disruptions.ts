import { Counter, type Registry } from 'prom-client';
import { RUN_ID_LABEL } from '../../core/index.ts';
import type { KubeObject } from '../store/types.ts';

/** Who took a running pod away: a client's eviction, a client's DELETE, or the taint manager. */
export type DisruptionCause = 'eviction' | 'delete' | 'taint-eviction';

const METRIC = 'sandbox_pod_disruptions_total';

/**
 * Counts a pod disruption in `sandbox_pod_disruptions_total{namespace, cause, run_id}`. `run_id` is the
 * RUN_ID_LABEL of the request (an Eviction's `metadata.labels`), else of the pod, else empty: the
 * unplanned-disruption SLI (M3) is the rate of the series whose run_id is not the run's own.
 * No real component exports this series (a real cluster keeps who evicted what in its audit log); the
 * sandbox exports it under its own prefix so nobody mistakes it for a kube-state-metrics one.
 */
export function countPodDisruption(
  registry: Registry,
  pod: KubeObject,
  cause: DisruptionCause,
  request?: KubeObject,
): void {
  const runId = labelOf(request) ?? labelOf(pod) ?? '';
  counterOf(registry).inc({ namespace: pod.metadata.namespace ?? '', cause, run_id: runId });
}

function labelOf(obj: KubeObject | undefined): string | undefined {
  const labels: unknown = obj?.metadata?.labels;
  if (!labels || typeof labels !== 'object') return undefined;
  const value = (labels as Record<string, unknown>)[RUN_ID_LABEL];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function counterOf(registry: Registry): Counter<'namespace' | 'cause' | 'run_id'> {
  const existing = registry.getSingleMetric(METRIC);
  if (existing) return existing as Counter<'namespace' | 'cause' | 'run_id'>;
  return new Counter({
    name: METRIC,
    help: 'Running pods taken away by an eviction, a client DELETE or the taint manager, by the run id their request was labelled with.',
    labelNames: ['namespace', 'cause', 'run_id'],
    registers: [registry],
  });
}
