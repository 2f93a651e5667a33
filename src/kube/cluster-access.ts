/**
 * The few reads and patches the engine needs beyond cordon, drain, lease and node-wait,
 * each with transient API failures retried.
 * They talk to the API directly, so they live here with the rest of the client-node code.
 */
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type V1Deployment,
  type V1Node,
  type V1Pod,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';
import type { Clock, Pod } from '../core/index.ts';
import { isNotFound } from './api-failure.ts';
import { requestRaw } from './client.ts';
import { getNodeJson, listNodesJson, patchNodeJson } from './node-requests.ts';
import type { NodeWatch } from './node-watch.ts';
import { listPodsOnNode, PodListMemo } from './pods-on-node.ts';
import { withRetries } from './retry.ts';

export interface NodeState {
  name: string;
  kubeletVersion: string;
  unschedulable: boolean;
  ready: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function nodeStateOf(node: V1Node): NodeState {
  return {
    name: node.metadata?.name ?? '',
    kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? '',
    unschedulable: node.spec?.unschedulable === true,
    ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    labels: node.metadata?.labels ?? {},
    annotations: node.metadata?.annotations ?? {},
  };
}

export class ClusterAccess {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly policy: PolicyV1Api;
  /** Admission reads the same nodes' pods choice after choice (see PodListMemo). */
  private readonly podLists = new PodListMemo();

  constructor(
    private readonly kc: KubeConfig,
    private readonly clock: Clock,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.policy = kc.makeApiClient(PolicyV1Api);
  }

  /** The node, or undefined when it does not exist. */
  async readNode(name: string): Promise<NodeState | undefined> {
    try {
      return nodeStateOf(
        await withRetries(this.clock, `read node ${name}`, () => getNodeJson(this.kc, name)),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * The node as `watch` last saw it while the watch is up (a node it does not have is read: it may have just
   * joined), else read; undefined when it does not exist. For checks that look again when they fail (a gate),
   * not for guards before an action that cannot be undone.
   */
  async watchedNode(name: string, watch: NodeWatch | undefined): Promise<NodeState | undefined> {
    const watched = watch?.live ? watch.get(name) : undefined;
    return watched ? nodeStateOf(watched) : this.readNode(name);
  }

  async listNodes(): Promise<NodeState[]> {
    const list = await withRetries(this.clock, 'list nodes', () => listNodesJson(this.kc));
    return list.items.map(nodeStateOf);
  }

  /** Sets (or, with null, removes) labels and annotations in one merge patch. */
  async patchNodeMetadata(
    name: string,
    meta: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
  ): Promise<void> {
    await withRetries(this.clock, `annotate node ${name}`, () =>
      patchNodeJson(this.kc, name, { metadata: meta }, PatchStrategy.MergePatch),
    );
  }

  /** `/version`'s gitVersion. */
  async serverVersion(): Promise<string> {
    return withRetries(this.clock, 'read /version', async () => {
      const res = await requestRaw(this.kc, 'GET', '/version', { timeoutMs: 10_000 });
      if (res.status !== 200)
        throw Object.assign(new Error(`/version answered ${res.status}`), { statusCode: res.status });
      return (JSON.parse(res.body) as { gitVersion: string }).gitVersion;
    });
  }

  async listPods(namespace: string, fieldSelector?: string): Promise<V1Pod[]> {
    const list = await withRetries(this.clock, `list pods in ${namespace}`, () =>
      this.core.listNamespacedPod({ namespace, fieldSelector }),
    );
    return list.items;
  }

  /** Every pod in every namespace (the gates' pod-readiness measure). */
  async listAllPods(fieldSelector?: string): Promise<V1Pod[]> {
    const list = await withRetries(this.clock, 'list pods in all namespaces', () =>
      this.core.listPodForAllNamespaces({ fieldSelector }),
    );
    return list.items;
  }

  /**
   * The pods bound to a node, in every namespace, as plain JSON (see pods-on-node.ts). IMPORTANT: read only:
   * pods that did not change since an earlier read are the objects that read gave.
   */
  async listPodsOnNode(node: string): Promise<readonly Pod[]> {
    return (await listPodsOnNode(this.kc, this.clock, node, this.podLists)).items;
  }

  /** Every PodDisruptionBudget, with its status as the disruption controller last wrote it. */
  async listDisruptionBudgets(): Promise<V1PodDisruptionBudget[]> {
    const list = await withRetries(this.clock, 'list PodDisruptionBudgets', () =>
      this.policy.listPodDisruptionBudgetForAllNamespaces(),
    );
    return list.items;
  }

  /** In one namespace, or in all of them. */
  async listDeployments(namespace?: string): Promise<V1Deployment[]> {
    const list = await withRetries(this.clock, `list deployments in ${namespace ?? 'all namespaces'}`, () =>
      namespace
        ? this.apps.listNamespacedDeployment({ namespace })
        : this.apps.listDeploymentForAllNamespaces(),
    );
    return list.items;
  }

  /** The image of a workload's container, or undefined when the workload is missing. */
  async workloadImage(kind: 'DaemonSet' | 'Deployment', namespace: string, name: string, container: string) {
    try {
      const obj =
        kind === 'DaemonSet'
          ? await withRetries(this.clock, `read daemonset ${namespace}/${name}`, () =>
              this.apps.readNamespacedDaemonSet({ name, namespace }),
            )
          : await withRetries(this.clock, `read deployment ${namespace}/${name}`, () =>
              this.apps.readNamespacedDeployment({ name, namespace }),
            );
      const c = obj.spec?.template?.spec?.containers?.find((x) => x.name === container);
      return {
        image: c?.image,
        status: obj.status as Record<string, number | undefined>,
        generation: obj.metadata?.generation,
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Sets one container's image with a strategic merge patch (merges containers by name). */
  async setWorkloadImage(
    kind: 'DaemonSet' | 'Deployment',
    namespace: string,
    name: string,
    container: string,
    image: string,
  ): Promise<void> {
    const body = { spec: { template: { spec: { containers: [{ name: container, image }] } } } };
    const options = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    await withRetries(this.clock, `set image of ${kind} ${namespace}/${name}`, async () => {
      if (kind === 'DaemonSet') await this.apps.patchNamespacedDaemonSet({ name, namespace, body }, options);
      else await this.apps.patchNamespacedDeployment({ name, namespace, body }, options);
    });
  }
}
