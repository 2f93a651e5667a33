/**
 * Run-id tagging: every Kubernetes Event a run writes carries its id as a label, so
 * `kubectl get events -A -l upgrade.midflight.dev/run-id=<run>` lists what the run did: each node's start
 * and return to service, and the run's own start and end on the Lease that holds the cluster for it.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ANNOTATIONS, startRun } from '../../src/engine/index.ts';
import {
  FAST,
  harness,
  planFor,
  SandboxApiProvider,
  startCluster,
  WORKERS_CLUSTER,
} from '../engine/engine-harness.ts';

describe('run-id tagging', () => {
  it("the run's Events are found by its id", async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2'), FAST);
      expect(summary.state).toBe('succeeded');
      const core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
      const { items } = await core.listEventForAllNamespaces({
        labelSelector: `${ANNOTATIONS.runId}=${summary.runId}`,
      });
      // Note: a drain may also have waited for a budget (DrainBlocked, labelled too), depending on timing.
      const seen = items
        .filter((e) => e.reason !== 'DrainBlocked')
        .map((e) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason}`)
        .sort();
      const workers = summary.nodes.upgraded;
      expect(seen).toEqual(
        [
          'Lease/midflight-upgrade RunFinished',
          'Lease/midflight-upgrade RunStarted',
          ...workers.flatMap((n) => [`Node/${n} UpgradeStarted`, `Node/${n} Upgraded`]),
        ].sort(),
      );
      for (const e of items) expect(e.message).toContain(`midflight run ${summary.runId}`);
      // Nothing else carries the label: another run's id finds none of these.
      const other = await core.listEventForAllNamespaces({ labelSelector: `${ANNOTATIONS.runId}=run-other` });
      expect(other.items).toEqual([]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  });
});
