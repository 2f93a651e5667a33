/** Pause and abort, requested from another process through the state store, as the CLI does. */
import { CoordinationV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/index.ts';
import { RunStateError, requestAbort, requestPause, resumeRun, startRun } from '../../src/engine/index.ts';
import {
  expectUpgraded,
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  startCluster,
  WORKERS_CLUSTER,
} from './engine-harness.ts';

describe('pause and abort', () => {
  it('pause: the nodes in flight finish, the run stops between batches, and resume finishes it', async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    const cli = h.openStore();
    try {
      const plan = await planFor(sandbox, 'v1.31.2');
      h.deps.onEvent = (e: RunEvent) => {
        if (e.type === 'node-changed' && e.activity === 'upgrade') requestPause(cli, e.runId);
      };
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.state).toBe('paused');
      expect(summary.reason).toBe('pause requested');
      expect(summary.nodes.upgraded).toHaveLength(1);
      expect((await nodes(sandbox)).filter((n) => n.unschedulable)).toEqual([]);
      expect(cli.getRun(summary.runId)?.requestedAction).toBeUndefined();

      h.deps.onEvent = undefined;
      const resumed = await resumeRun(h.deps, summary.runId, FAST);
      expect(resumed.state).toBe('succeeded');
      await expectUpgraded(sandbox, 'v1.31.2');
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 30_000);

  it.each([
    [false, false],
    [true, true],
  ])(
    'abort (keepCordoned %s): stops after the current sub-step; the node is left cordoned: %s',
    async (keepCordoned, leftCordoned) => {
      const sandbox = await startCluster(WORKERS_CLUSTER);
      const h = harness(sandbox, new SandboxApiProvider(sandbox));
      const cli = h.openStore();
      try {
        const plan = await planFor(sandbox, 'v1.31.2');
        let aborted = '';
        h.deps.onEvent = (e: RunEvent) => {
          if (e.type === 'node-changed' && e.subStep === 'drained' && !aborted) {
            aborted = e.node;
            requestAbort(cli, e.runId, { keepCordoned });
          }
        };
        const summary = await startRun(h.deps, plan, FAST);
        expect(summary.state).toBe('aborted');
        const cordoned = (await nodes(sandbox)).filter((n) => n.unschedulable).map((n) => n.name);
        expect(cordoned).toEqual(leftCordoned ? [aborted] : []);
        expect(summary.nodes.upgraded).toEqual([]);
        await expect(resumeRun(h.deps, summary.runId, FAST)).rejects.toBeInstanceOf(RunStateError);
      } finally {
        h.cleanup();
        await sandbox.stop();
      }
    },
    30_000,
  );

  it('a lost lease pauses the run: someone else took the cluster', async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    const leases = sandbox.kubeConfig().makeApiClient(CoordinationV1Api);
    try {
      let stolen = false;
      // As another holder would: read, replace, and read again when the run renewed it in between (409).
      const steal = async (): Promise<void> => {
        for (;;) {
          const lease = await leases.readNamespacedLease({
            name: 'midflight-upgrade',
            namespace: 'kube-system',
          });
          try {
            await leases.replaceNamespacedLease({
              name: 'midflight-upgrade',
              namespace: 'kube-system',
              body: { ...lease, spec: { ...lease.spec, holderIdentity: 'midflight/thief@elsewhere:9' } },
            });
            return;
          } catch (err) {
            if ((err as { code?: number }).code !== 409) throw err;
          }
        }
      };
      h.deps.onEvent = (e: RunEvent) => {
        if (e.type === 'node-changed' && e.subStep === 'drained' && !stolen) {
          stolen = true;
          void steal();
        }
      };
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2'), FAST);
      expect(summary.state).toBe('paused');
      expect(summary.reason).toMatch(/lost the cluster lease: taken over by midflight\/thief@elsewhere:9/);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 30_000);
});
