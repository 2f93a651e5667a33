import { AppsV1Api } from '@kubernetes/client-node';
import { requestRaw } from '../../src/kube/client.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';

/** Changes the sandbox's faults through its admin API (PATCH: only the fields given). */
export async function patchFaults(sandbox: RunningSandbox, faults: Record<string, unknown>): Promise<void> {
  const res = await requestRaw(sandbox.kubeConfig(), 'PATCH', '/sandbox/v1/faults', { body: faults });
  if (res.status !== 200) throw new Error(`PATCH /sandbox/v1/faults: HTTP ${res.status} ${res.body}`);
}

/** Calls the sandbox's admin API with a body; answers the parsed JSON. */
export async function adminPost<T>(sandbox: RunningSandbox, path: string, body: unknown): Promise<T> {
  const res = await requestRaw(sandbox.kubeConfig(), 'POST', path, { body });
  if (res.status >= 300) throw new Error(`POST ${path}: HTTP ${res.status} ${res.body}`);
  return JSON.parse(res.body) as T;
}

/**
 * Waits until every Deployment and StatefulSet has all its replicas Ready, then until no pod is unsettled.
 * IMPORTANT: `box.waitUntilSettled()` alone can return before the controllers have created the first pods
 * (no pod yet = nothing unsettled), so right after start it may see an empty cluster.
 */
export async function waitForWorkloads(sandbox: RunningSandbox, timeoutMs = 300_000): Promise<void> {
  const apps = sandbox.kubeConfig().makeApiClient(AppsV1Api);
  const clock = sandbox.box.ctx.clock;
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const [deployments, statefulSets] = await Promise.all([
      apps.listDeploymentForAllNamespaces(),
      apps.listStatefulSetForAllNamespaces(),
    ]);
    const waiting = [...deployments.items, ...statefulSets.items].filter(
      (w) => (w.status?.readyReplicas ?? 0) < (w.spec?.replicas ?? 1),
    );
    if (waiting.length === 0) break;
    if (clock.now() > deadline) {
      throw new Error(`workloads not ready: ${waiting.map((w) => w.metadata?.name).join(', ')}`);
    }
    await clock.sleep(1_000);
  }
  await sandbox.box.waitUntilSettled(timeoutMs);
}
