/**
 * etcd member health and quorum as a kubeadm cluster shows them through the Kubernetes API: each stacked
 * member runs as the static pod `etcd-<node>` (labels component=etcd, tier=control-plane, in kube-system),
 * whose Ready condition is the kubelet's probe of the member's health endpoint. A cluster with external
 * or managed etcd has no such pods, and nothing here applies to it.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { type Clock, memberDownProblem, quorumOf } from '../core/index.ts';
import { withRetries } from './retry.ts';

export interface EtcdMember {
  /** The control-plane node the member runs on. */
  node: string;
  healthy: boolean;
  /** What the pod says when unhealthy, e.g. "NotReady (ContainersNotReady)". */
  detail: string;
}

export const ETCD_POD_SELECTOR = 'component=etcd,tier=control-plane';

/** The stacked etcd members, by their static pods; [] when etcd is not run as static pods. */
export async function readEtcdMembers(kc: KubeConfig, clock: Clock): Promise<EtcdMember[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = await withRetries(clock, 'list etcd pods in kube-system', () =>
    core.listNamespacedPod({ namespace: 'kube-system', labelSelector: ETCD_POD_SELECTOR }),
  );
  return list.items
    .map(memberOf)
    .filter((m): m is EtcdMember => m !== undefined)
    .sort((a, b) => a.node.localeCompare(b.node));
}

function memberOf(pod: V1Pod): EtcdMember | undefined {
  const node = pod.spec?.nodeName;
  if (!node) return undefined;
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const healthy = pod.status?.phase === 'Running' && ready?.status === 'True';
  const detail = healthy
    ? 'healthy'
    : `${pod.status?.phase ?? 'Unknown'}, ${ready ? `Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ''}` : 'no Ready condition'}`;
  return { node, healthy, detail };
}

/**
 * Before `node`'s member goes down for its upgrade: every other member must be healthy (the quorum rule is
 * core's memberDownProblem). Returns what is wrong, or undefined.
 */
export function etcdProblemBefore(members: readonly EtcdMember[], node: string): string | undefined {
  return memberDownProblem(
    members.map((m) => ({ name: m.node, healthy: m.healthy, detail: m.detail })),
    node,
    { member: (name) => `etcd on ${name}`, action: `upgrading ${node}` },
  );
}

/** After `node`'s upgrade: its member is healthy and a majority of all members is. */
export function etcdProblemAfter(members: readonly EtcdMember[], node: string): string | undefined {
  const own = members.find((m) => m.node === node);
  if (!own) return `no etcd member on ${node} (etcd-${node} is missing)`;
  if (!own.healthy) return `etcd on ${node} is not healthy (${own.detail})`;
  const healthy = members.filter((m) => m.healthy).length;
  if (healthy < quorumOf(members.length))
    return `etcd has ${healthy} of ${members.length} member(s) healthy, quorum needs ${quorumOf(members.length)}`;
  return undefined;
}

/** The annotation kubeadm puts on each etcd static pod: the member's client URLs. */
export const KUBEADM_ETCD_CLIENT_URLS = 'kubeadm.kubernetes.io/etcd.advertise-client-urls';

/**
 * The client URLs of the stacked etcd members, found the way kubeadm lays them out: the annotation on each
 * `etcd-<node>` static pod, else its `--advertise-client-urls` flag. [] when etcd is not run as static pods.
 */
export async function readEtcdClientUrls(kc: KubeConfig, clock: Clock): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = await withRetries(clock, 'list etcd pods in kube-system', () =>
    core.listNamespacedPod({ namespace: 'kube-system', labelSelector: ETCD_POD_SELECTOR }),
  );
  const urls = list.items.flatMap(clientUrlsOf);
  return [...new Set(urls)];
}

export function clientUrlsOf(pod: V1Pod): string[] {
  const annotated = pod.metadata?.annotations?.[KUBEADM_ETCD_CLIENT_URLS];
  const flag = (pod.spec?.containers ?? [])
    .flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])])
    .find((a) => a.startsWith('--advertise-client-urls='));
  const value = annotated ?? flag?.slice('--advertise-client-urls='.length) ?? '';
  return value
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
}
