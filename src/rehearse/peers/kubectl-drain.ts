/**
 * `kubectl drain NODE --ignore-daemonsets --delete-emptydir-data --force`, as k8s.io/kubectl/pkg/drain does
 * it, for the peers (node-loop.ts): what kured, `kops rolling-update` and system-upgrade-controller run on each node.
 *
 * - cordon; list the node's pods (field selector spec.nodeName);
 * - skip mirror pods, and DaemonSet pods once their DaemonSet is read (`--ignore-daemonsets`); every other
 *   pod goes, with local data or without a controller (`--delete-emptydir-data --force`);
 * - every pod at once, each on its own: POST its eviction; a 429 (a budget said no) is retried after 5 s, a
 *   404 means it is gone already; once accepted, GET the pod every second until it is gone or replaced (same
 *   name, another uid), as kubectl's waitForDelete.
 *
 * IMPORTANT: it knows nothing of budgets beyond what each refusal says; that is the point of the comparison.
 * No `--timeout`: like kubectl without it, it waits forever unless `signal` stops it.
 */
import { ApiException, AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../../core/index.ts';
import { cordonNode } from '../../kube/index.ts';

/** kubectl's fixed wait after an eviction a budget refused. */
export const EVICTION_RETRY_MS = 5_000;
/** kubectl's waitForDelete poll interval. */
export const DELETE_POLL_MS = 1_000;

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export interface KubectlDrainOptions {
  clock: Clock;
  /** Stops the drain between requests (the bench's clock limit). */
  signal: AbortSignal;
  /** Told each time a budget refuses an eviction: what the drain is waiting on. */
  onRefused?: (pod: string, message: string) => void;
}

export async function kubectlDrain(
  kc: KubeConfig,
  node: string,
  options: KubectlDrainOptions,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  await cordonNode(kc, node, { clock: options.clock });
  const pods = (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items;
  const toEvict: V1Pod[] = [];
  for (const pod of pods) {
    if (pod.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined) continue;
    const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
    if (owner?.kind === 'DaemonSet') {
      // Note: kubectl reads the DaemonSet to tell a managed pod from an orphan; both are left here (the
      // bench's DaemonSets all exist), but the read is a request kubectl makes, so it is made.
      await apps
        .readNamespacedDaemonSet({ namespace: pod.metadata?.namespace ?? '', name: owner.name })
        .catch(() => undefined);
      continue;
    }
    toEvict.push(pod);
  }
  await Promise.all(toEvict.map((pod) => evictUntilGone(core, pod, options)));
}

async function evictUntilGone(core: CoreV1Api, pod: V1Pod, options: KubectlDrainOptions): Promise<void> {
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  for (;;) {
    options.signal.throwIfAborted();
    try {
      await core.createNamespacedPodEviction({
        namespace,
        name,
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { namespace, name } },
      });
      break;
    } catch (err) {
      const code = err instanceof ApiException ? err.code : undefined;
      if (code === 404) return;
      if (code !== 429) throw new Error(`evicting ${namespace}/${name}: ${(err as Error).message}`);
      options.onRefused?.(`${namespace}/${name}`, messageOf(err as ApiException<unknown>));
      await options.clock.sleep(EVICTION_RETRY_MS);
    }
  }
  for (;;) {
    options.signal.throwIfAborted();
    try {
      const now = await core.readNamespacedPod({ namespace, name });
      if (now.metadata?.uid !== pod.metadata?.uid) return;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return;
      throw err;
    }
    await options.clock.sleep(DELETE_POLL_MS);
  }
}

function messageOf(err: ApiException<unknown>): string {
  try {
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return (body as { message?: string }).message ?? `HTTP ${err.code}`;
  } catch {
    return `HTTP ${err.code}`;
  }
}
