/** rollbackRun: workers back to their previous kubelet, newest first; the control plane said plainly to stay. */
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/index.ts';
import {
  planRollback,
  RunStateError,
  requestAbort,
  resumeRun,
  rollbackRun,
  startRun,
} from '../../src/engine/index.ts';
import { runCli } from '../cli/run-cli.ts';
import {
  CountingProvider,
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  SMALL_CLUSTER,
  startCluster,
  WORKERS_CLUSTER,
} from './engine-harness.ts';

describe('rollbackRun', () => {
  it('returns upgraded workers to their previous version in reverse order and leaves the control plane', async () => {
    const sandbox = await startCluster(SMALL_CLUSTER);
    const provider = new CountingProvider(new SandboxApiProvider(sandbox));
    const h = harness(sandbox, provider);
    try {
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2'), FAST);
      expect(summary.state).toBe('succeeded');
      const upgradeOrder = summary.nodes.upgraded.filter((n) => !n.startsWith('cp-'));

      const preview = planRollback(h.deps, summary.runId);
      expect(preview.nodes.map((n) => n.node)).toEqual([...upgradeOrder].reverse());
      expect(preview.nodes.every((n) => n.version === 'v1.30.6')).toBe(true);
      expect(preview.notRollbackable).toEqual([
        {
          node: 'cp-1',
          wasVersion: 'v1.30.6',
          reason: expect.stringMatching(
            /cannot be downgraded in place; the way back is restoring the etcd snapshot/,
          ),
        },
      ]);
      // `midflight rollback --dry-run` prints the way back past the control plane: the run's own snapshot
      // (on a sandbox, its store), found by the run id beside the state store.
      const dry = await runCli(
        ...[
          '--kubeconfig',
          sandbox.kubeconfigPath,
          'rollback',
          summary.runId,
          '--dry-run',
          '--state',
          h.statePath,
        ],
      );
      expect(dry.stdout).toContain(
        `The control plane of ${summary.runId} moved from v1.30.6 to v1.31.2 (cp-1)`,
      );
      expect(dry.stdout).toMatch(
        new RegExp(`sandbox-\\d{8}T\\d{6}Z-${summary.runId}\\.store\\.json \\(taken `),
      );

      const order: string[] = [];
      h.deps.onEvent = (e: RunEvent) => {
        if (e.type === 'node-changed' && e.stepId === 'rollback' && e.activity === 'upgrade')
          order.push(e.node);
      };
      const rolledBack = await rollbackRun(h.deps, summary.runId, FAST);
      expect(rolledBack.state).toBe('rolled-back');
      expect(rolledBack.reason).toMatch(/control plane \(cp-1\) not rolled back: restore the etcd snapshot/);
      expect(order).toEqual([...upgradeOrder].reverse());
      expect(rolledBack.nodes.rolledBack.sort()).toEqual([...upgradeOrder].sort());
      const after = await nodes(sandbox);
      for (const n of after)
        expect({ node: n.name, version: n.version, unschedulable: n.unschedulable }).toEqual({
          node: n.name,
          version: n.name === 'cp-1' ? 'v1.31.2' : 'v1.30.6',
          unschedulable: false,
        });
      const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
      expect(items).toEqual([]);

      // Idempotent: nothing left to do, nothing touched.
      const calls = [...provider.calls.values()].reduce((a, b) => a + b, 0);
      expect((await rollbackRun(h.deps, summary.runId, FAST)).state).toBe('rolled-back');
      expect([...provider.calls.values()].reduce((a, b) => a + b, 0)).toBe(calls);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 120_000);

  it('abort stops a rollback and gives its node back; rolling back again starts that node over and finishes', async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    const cli = h.openStore();
    try {
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2'), FAST);
      expect(summary.state).toBe('succeeded');
      let asked = false;
      h.deps.onEvent = (e: RunEvent) => {
        // Mid-drain of the first node to roll back: after its cordon, before its downgrade.
        if (e.type === 'node-changed' && e.stepId === 'rollback' && e.activity === 'drain' && !asked) {
          asked = true;
          requestAbort(cli, e.runId);
        }
      };
      const aborted = await rollbackRun(h.deps, summary.runId, FAST);
      expect(aborted).toMatchObject({ state: 'aborted', mode: 'rollback' });
      expect(aborted.reason).toMatch(/^rollback aborted; uncordoned general-\d/);
      expect((await nodes(sandbox)).filter((n) => n.unschedulable)).toEqual([]);
      // An aborted run is not resumed, in either mode.
      await expect(resumeRun(h.deps, summary.runId, FAST)).rejects.toBeInstanceOf(RunStateError);

      const first = /uncordoned (general-\d)/.exec(aborted.reason!)![1]!;
      // Note: on a loaded machine the abort may land after that node's downgrade, between its verify and its
      // uncordon; it is then already back at its version and rightly not rolled back again.
      const firstDone = (await nodes(sandbox)).find((n) => n.name === first)?.version === 'v1.30.6';
      const cordoned: string[] = [];
      h.deps.onEvent = (e: RunEvent) => {
        if (e.type === 'node-changed' && e.stepId === 'rollback' && e.activity === 'cordon')
          cordoned.push(e.node);
      };
      const back = await rollbackRun(h.deps, summary.runId, FAST);
      // The abort uncordoned it: its rollback starts over with a cordon, not mid-drain on a schedulable node.
      if (!firstDone) expect(cordoned).toContain(first);
      expect(back.state).toBe('rolled-back');
      for (const n of await nodes(sandbox))
        expect({ node: n.name, version: n.version, unschedulable: n.unschedulable }).toEqual({
          node: n.name,
          version: n.name.startsWith('cp-') ? 'v1.31.2' : 'v1.30.6',
          unschedulable: false,
        });
      const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
      expect(items).toEqual([]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('refuses to roll back a run that is still running', async () => {
    const sandbox = await startCluster(SMALL_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      h.deps.store.createRun({
        id: 'run-x',
        planJson: '{}',
        planId: 'plan-x',
        planHash: 'x',
        clusterFingerprint: 'f',
        clusterServer: 's',
        source: 'v1.30.6',
        target: 'v1.31.2',
      });
      h.deps.store.setRunState('run-x', 'running');
      await expect(rollbackRun(h.deps, 'run-x', FAST)).rejects.toBeInstanceOf(RunStateError);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  });
});
