import { CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Clock, FailureClass, Timer } from '../core/index.ts';
import { apiFailureOf } from './api-failure.ts';
import { requestRaw } from './client.ts';
import { getNodeJson } from './node-requests.ts';
import type { NodeWatch } from './node-watch.ts';

export interface WaitForNodeOptions {
  /** The kubelet version the node must report, e.g. `v1.31.2`. */
  kubeletVersion: string;
  /** Clock ms. Default 600,000 (10 minutes). */
  timeoutMs?: number;
  /** Clock ms between reads of the node. Default 2,000. */
  pollIntervalMs?: number;
  /**
   * The run's node watch: while it is up the node is read from it and the wait ends the moment it sees the
   * node Ready at the version; while it is down the node is read from the API every poll interval.
   */
  watch?: NodeWatch;
}

export interface WaitForControlPlaneOptions {
  /** Clock ms. Default 600,000. */
  timeoutMs?: number;
  /** Default 2,000. */
  pollIntervalMs?: number;
}

export const DEFAULT_NODE_WAIT = { timeoutMs: 600_000, pollIntervalMs: 2_000 };

/** The components kubeadm upgrades on a control-plane member; their mirror pods are `<component>-<node>`. */
export const CONTROL_PLANE_COMPONENTS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
] as const;

/** The node (or control-plane member) did not reach the expected state in time; says what was last seen. */
export class NodeWaitTimeoutError extends Error {
  readonly failureClass: FailureClass = 'permanent';
  constructor(
    readonly node: string,
    readonly lastSeen: string,
    message: string,
  ) {
    super(message);
    this.name = 'NodeWaitTimeoutError';
  }
}

/**
 * Resolves with the node once it is Ready=True and its kubelet reports `kubeletVersion`; rejects with
 * NodeWaitTimeoutError naming what was last seen, e.g.
 * `node general-2 not Ready after 600s (Ready=Unknown: Kubelet stopped posting node status.; kubelet v1.31.2)`.
 * API failures while polling are tolerated (the node may be rebooting, the API server restarting).
 */
export async function waitForNode(
  kc: KubeConfig,
  name: string,
  options: WaitForNodeOptions,
  clock: Clock,
): Promise<V1Node> {
  const { timeoutMs, pollIntervalMs, watch } = { ...DEFAULT_NODE_WAIT, ...options };
  const deadline = clock.now() + timeoutMs;
  const isDone = (node: V1Node | undefined) =>
    readyCondition(node)?.status === 'True' &&
    node?.status?.nodeInfo?.kubeletVersion === options.kubeletVersion;
  let lastSeen = 'never read';
  let lastNode: V1Node | undefined;
  // Note: one waiter on the watch for the whole wait, not one per interval.
  let news: Promise<void> | undefined;
  for (;;) {
    try {
      const watched = watch?.live ? watch.get(name) : undefined;
      // Note: a node the watch does not have is read from the API: it may have just joined.
      lastNode = watched ?? (await getNodeJson(kc, name));
      if (isDone(lastNode)) return lastNode;
      lastSeen = describeNode(lastNode);
    } catch (err) {
      const failure = apiFailureOf(err);
      lastSeen = `${lastNode ? `${describeNode(lastNode)}; ` : ''}last read failed: ${failure.message}`;
    }
    if (clock.now() >= deadline) {
      const state =
        readyCondition(lastNode)?.status === 'True'
          ? `not at kubelet ${options.kubeletVersion}`
          : 'not Ready';
      throw new NodeWaitTimeoutError(
        name,
        lastSeen,
        `node ${name} ${state} after ${Math.round(timeoutMs / 1000)}s (${lastSeen})`,
      );
    }
    const sleep = Math.min(pollIntervalMs, Math.max(0, deadline - clock.now()));
    if (!watch) await clock.sleep(sleep);
    else {
      news ??= watch.nextChange('', name, isDone).then(() => {
        news = undefined;
      });
      await sleepUntil(clock, sleep, news);
    }
  }
}

/** Sleeps `ms` of the clock, less when `news` comes first. */
async function sleepUntil(clock: Clock, ms: number, news: Promise<void>): Promise<void> {
  let timer: Timer | undefined;
  await Promise.race([news, new Promise<void>((resolve) => (timer = clock.setTimer(ms, resolve)))]);
  timer?.cancel();
}

/**
 * Resolves once the control-plane member's mirror pods (kube-apiserver-NODE, kube-controller-manager-NODE,
 * kube-scheduler-NODE in kube-system) are Running and Ready with image tags at `version`, and the API server
 * answers /readyz (falling back to /version where /readyz is not served).
 */
export async function waitForControlPlaneMember(
  kc: KubeConfig,
  node: string,
  version: string,
  options: WaitForControlPlaneOptions,
  clock: Clock,
): Promise<void> {
  const { timeoutMs, pollIntervalMs } = { ...DEFAULT_NODE_WAIT, ...options };
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = clock.now() + timeoutMs;
  let lastSeen = 'never read';
  for (;;) {
    const problems = await Promise.all(
      CONTROL_PLANE_COMPONENTS.map((component) => componentProblem(core, component, node, version)),
    );
    const waiting = problems.filter((p): p is string => p !== undefined);
    if (waiting.length === 0) {
      const health = await apiServerProblem(kc);
      if (health === undefined) return;
      waiting.push(health);
    }
    lastSeen = waiting.join('; ');
    if (clock.now() >= deadline) {
      throw new NodeWaitTimeoutError(
        node,
        lastSeen,
        `control-plane member ${node} not at ${version} after ${Math.round(timeoutMs / 1000)}s (${lastSeen})`,
      );
    }
    await clock.sleep(Math.min(pollIntervalMs, Math.max(0, deadline - clock.now())));
  }
}

/** What keeps one component from being done, or undefined when it runs Ready at the version. */
async function componentProblem(
  core: CoreV1Api,
  component: string,
  node: string,
  version: string,
): Promise<string | undefined> {
  const name = `${component}-${node}`;
  let pod: V1Pod;
  try {
    pod = await core.readNamespacedPod({ namespace: 'kube-system', name });
  } catch (err) {
    const failure = apiFailureOf(err);
    return failure.code === 404 ? `${name} missing` : `${name} unreadable: ${failure.message}`;
  }
  const image =
    pod.spec?.containers?.find((c) => c.name === component)?.image ?? pod.spec?.containers?.[0]?.image;
  const tag = imageTag(image);
  if (tag !== version) return `${name} at ${tag ?? 'no tag'}`;
  const phase = pod.status?.phase ?? 'Unknown';
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (phase !== 'Running' || !ready) return `${name} ${phase}${ready ? '' : ', not Ready'}`;
  return undefined;
}

async function apiServerProblem(kc: KubeConfig): Promise<string | undefined> {
  try {
    const readyz = await requestRaw(kc, 'GET', '/readyz', { timeoutMs: 10_000 });
    if (readyz.status === 200) return undefined;
    if (readyz.status !== 404)
      return `API server /readyz answered ${readyz.status}: ${readyz.body.slice(0, 200)}`;
    const version = await requestRaw(kc, 'GET', '/version', { timeoutMs: 10_000 });
    return version.status === 200 ? undefined : `API server /version answered ${version.status}`;
  } catch (err) {
    return `API server not answering: ${(err as Error).message}`;
  }
}

function readyCondition(node: V1Node | undefined) {
  return node?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** `Ready=Unknown: Kubelet stopped posting node status.; kubelet v1.31.2`. */
function describeNode(node: V1Node): string {
  const ready = readyCondition(node);
  const readyText = ready
    ? `Ready=${ready.status}${ready.message ? `: ${ready.message}` : ''}`
    : 'no Ready condition';
  return `${readyText}; kubelet ${node.status?.nodeInfo?.kubeletVersion ?? 'unknown'}`;
}

/** The tag of `registry.k8s.io/kube-apiserver:v1.31.2` (a registry port is not a tag). */
export function imageTag(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const withoutDigest = image.split('@')[0] ?? image;
  const colon = withoutDigest.lastIndexOf(':');
  if (colon < 0 || withoutDigest.lastIndexOf('/') > colon) return undefined;
  return withoutDigest.slice(colon + 1);
}
