import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups } from '../../src/backup/index.ts';
import { ANNOTATIONS, startRun, summarizeRun } from '../../src/engine/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import {
  CountingProvider,
  commandProvider,
  expectUpgraded,
  FAST,
  harness,
  nodes,
  planFor,
  SMALL_CLUSTER,
  startCluster,
} from './engine-harness.ts';

describe('startRun: a full upgrade with the command provider', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startCluster(SMALL_CLUSTER);
  }, 30_000);
  afterAll(async () => sandbox?.stop());

  it('upgrades the control plane, the canary and the pools, each node once, and validates', async () => {
    const plan = await planFor(sandbox, 'v1.31.2');
    const provider = new CountingProvider(commandProvider(sandbox));
    const h = harness(sandbox, provider);
    try {
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      await expectUpgraded(sandbox, 'v1.31.2');
      const all = await nodes(sandbox);
      expect(Object.fromEntries(provider.calls)).toEqual(Object.fromEntries(all.map((n) => [n.name, 1])));
      for (const n of all) {
        expect(n.annotations[ANNOTATIONS.runId]).toBe(summary.runId);
        expect(n.annotations[ANNOTATIONS.planHash]).toBe(plan.id.slice(5));
      }
      const version = await sandbox.admin<{ controlPlane: { version: string } }>('/sandbox/v1/summary');
      expect(version.controlPlane.version).toBe('v1.31.2');
      expect(summary.nodes.upgraded.sort()).toEqual(all.map((n) => n.name).sort());
      expect(summary.phases.map((p) => [p.kind, p.status])).toEqual(plan.phases.map((p) => [p.kind, 'done']));
      expect(summary.warnings.join('\n')).not.toMatch(/etcd backup/);
      // With no hook and no endpoints, a sandbox's store is backed up through its admin API: saved beside
      // the state store, verified, and drilled into a scratch store.
      const [backup] = listBackups(join(dirname(h.statePath), 'etcd-backups'));
      expect(backup?.file).toMatch(new RegExp(`sandbox-\\d{8}T\\d{6}Z-${summary.runId}\\.store\\.json$`));
      expect(backup?.metadata).toMatchObject({ kind: 'sandbox-store', runId: summary.runId });
      expect(backup?.metadata?.keys).toBeGreaterThan(0);
      expect(backup?.metadata?.verifiedAt).toBeDefined();
      const said = h.deps.store.logs(summary.runId).map((e) => e.message);
      expect(said.join('\n')).toMatch(
        /etcd backup: drill passed: a scratch store holds revision \d+ with \d+ objects/,
      );

      // The event stream tells the story in order.
      const types = h.events.map((e) => e.type);
      expect(types[0]).toBe('run-started');
      expect(types.at(-1)).toBe('run-finished');
      const started = h.events
        .filter((e) => e.type === 'phase-started')
        .map((e) => (e as { kind: string }).kind);
      expect(started).toEqual(plan.phases.map((p) => p.kind));
      const canary = plan.phases.find((p) => p.kind === 'canary')!.steps[0]!.nodes[0]!;
      const firstWorkerUpgrade = h.events.find(
        (e) => e.type === 'node-changed' && e.activity === 'upgrade' && !e.node.startsWith('cp-'),
      );
      expect(firstWorkerUpgrade && 'node' in firstWorkerUpgrade && firstWorkerUpgrade.node).toBe(canary);

      // Applying the same plan again is refused: the cluster has passed its source version.
      await expect(startRun(h.deps, plan, FAST)).rejects.toMatchObject({ rejection: 'target-reached' });
      expect(summarizeRun(h.deps.store, summary.runId).state).toBe('succeeded');
    } finally {
      h.cleanup();
    }
  }, 120_000); // about 35 s alone; more under the whole suite's load
});
