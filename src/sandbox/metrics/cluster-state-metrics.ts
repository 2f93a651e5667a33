import { R } from '../api/resources.ts';
import type { SandboxContext } from '../context.ts';
import type { KubeObject } from '../store/types.ts';
import { CollectedMetric, type CollectedValue } from './collected-metric.ts';

/**
 * The kube-state-metrics series of nodes, pods and disruption budgets, under kube-state-metrics' own names,
 * labels and value conventions (one series per possible status, 1 for the current one, 0 for the others),
 * read from the object store at each scrape. What dashboards and alert rules written for a real cluster
 * (kube-prometheus' KubeNodeNotReady, KubePodNotReady, …) query, the sandbox answers.
 */
export function registerClusterStateMetrics(ctx: SandboxContext): void {
  const { store, metrics: registry } = ctx;
  const nodes = () => store.list(R.nodes);
  const pods = () => store.list(R.pods);
  const pdbs = () => store.list(R.pdbs);

  new CollectedMetric(
    'kube_node_status_condition',
    'The condition of a cluster node.',
    'gauge',
    () =>
      each(nodes(), function* (node) {
        for (const c of conditionList(node)) {
          for (const status of CONDITION_STATUSES)
            yield v({ node: nameOf(node), condition: c.type, status }, statusValue(c.status) === status);
        }
      }),
    registry,
  );
  new CollectedMetric(
    'kube_node_spec_unschedulable',
    'Whether a node can schedule new pods.',
    'gauge',
    () => nodes().map((node) => v({ node: nameOf(node) }, node.spec?.unschedulable === true)),
    registry,
  );
  new CollectedMetric(
    'kube_node_info',
    'Information about a cluster node.',
    'gauge',
    () =>
      nodes().map((node) => {
        const info = node.status?.nodeInfo ?? {};
        const addresses: unknown = node.status?.addresses;
        const ip = Array.isArray(addresses)
          ? (addresses as Array<{ type?: string; address?: string }>).find((a) => a?.type === 'InternalIP')
          : undefined;
        return v(
          {
            node: nameOf(node),
            kernel_version: str(info.kernelVersion),
            os_image: str(info.osImage),
            container_runtime_version: str(info.containerRuntimeVersion),
            kubelet_version: str(info.kubeletVersion),
            kubeproxy_version: str(info.kubeProxyVersion),
            pod_cidr: str(node.spec?.podCIDR),
            internal_ip: str(ip?.address),
            system_uuid: str(info.systemUUID),
          },
          true,
        );
      }),
    registry,
  );
  new CollectedMetric(
    'kube_pod_info',
    'Information about pod.',
    'gauge',
    () =>
      pods().map((pod) => {
        const refs: unknown = pod.metadata.ownerReferences;
        const owner = Array.isArray(refs)
          ? (refs as Array<{ controller?: boolean; kind?: string; name?: string }>).find((r) => r?.controller)
          : undefined;
        return v(
          {
            ...podLabels(pod),
            node: str(pod.spec?.nodeName),
            host_ip: str(pod.status?.hostIP),
            pod_ip: str(pod.status?.podIP),
            created_by_kind: str(owner?.kind) || '<none>',
            created_by_name: str(owner?.name) || '<none>',
          },
          true,
        );
      }),
    registry,
  );
  new CollectedMetric(
    'kube_pod_status_ready',
    'Describes whether the pod is ready to serve requests.',
    'gauge',
    () =>
      each(pods(), function* (pod) {
        const ready = conditionList(pod).find((c) => c.type === 'Ready');
        if (!ready) return;
        for (const condition of CONDITION_STATUSES)
          yield v({ ...podLabels(pod), condition }, statusValue(ready.status) === condition);
      }),
    registry,
  );
  new CollectedMetric(
    'kube_pod_status_phase',
    'The pods current phase.',
    'gauge',
    () =>
      each(pods(), function* (pod) {
        const current = pod.status?.phase ?? 'Pending';
        for (const phase of POD_PHASES) yield v({ ...podLabels(pod), phase }, phase === current);
      }),
    registry,
  );
  new CollectedMetric(
    'kube_pod_container_status_restarts_total',
    'The number of container restarts per container.',
    'counter',
    () =>
      each(pods(), function* (pod) {
        const statuses: unknown = pod.status?.containerStatuses;
        if (!Array.isArray(statuses)) return;
        for (const s of statuses as Array<{ name?: string; restartCount?: number }>)
          yield { labels: { ...podLabels(pod), container: str(s.name) }, value: s.restartCount ?? 0 };
      }),
    registry,
  );
  const pdbGauge = (suffix: string, help: string, field: string) =>
    new CollectedMetric(
      `kube_poddisruptionbudget_status_${suffix}`,
      help,
      'gauge',
      () =>
        pdbs()
          .filter((pdb) => typeof pdb.status?.[field] === 'number')
          .map((pdb) => ({
            labels: { namespace: str(pdb.metadata.namespace), poddisruptionbudget: nameOf(pdb) },
            value: pdb.status[field] as number,
          })),
      registry,
    );
  pdbGauge('current_healthy', 'Current number of healthy pods.', 'currentHealthy');
  pdbGauge('desired_healthy', 'Minimum desired number of healthy pods.', 'desiredHealthy');
  pdbGauge(
    'pod_disruptions_allowed',
    'Number of pod disruptions that are currently allowed.',
    'disruptionsAllowed',
  );
  pdbGauge('expected_pods', 'Total number of pods counted by this disruption budget.', 'expectedPods');
}

const CONDITION_STATUSES = ['true', 'false', 'unknown'] as const;
const POD_PHASES = ['Pending', 'Succeeded', 'Failed', 'Unknown', 'Running'] as const;

function v(labels: Record<string, string>, on: boolean): CollectedValue {
  return { labels, value: on ? 1 : 0 };
}

function* each<T>(items: T[], fn: (item: T) => Iterable<CollectedValue>): Iterable<CollectedValue> {
  for (const item of items) yield* fn(item);
}

function podLabels(pod: KubeObject): Record<string, string> {
  return { namespace: str(pod.metadata.namespace), pod: nameOf(pod), uid: str(pod.metadata.uid) };
}

function nameOf(obj: KubeObject): string {
  return obj.metadata.name ?? '';
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** `status.conditions` as written; an object stored with a malformed list must not break the scrape. */
function conditionList(obj: KubeObject): Array<{ type: string; status: string }> {
  const list: unknown = obj.status?.conditions;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (c): c is { type: string; status: string } =>
      typeof c?.type === 'string' && typeof c?.status === 'string',
  );
}

function statusValue(status: string): (typeof CONDITION_STATUSES)[number] {
  return status === 'True' ? 'true' : status === 'False' ? 'false' : 'unknown';
}
