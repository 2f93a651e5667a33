/**
 * strategy blue-green end to end on the sandbox (issue 14): the green pool is created and Ready and every
 * blue node cordoned before the first drain; the blue nodes are drained wave by wave under the budgets, held
 * for the final soak, then deleted. Paused during the final soak, `rollback` puts the blue pool back:
 * blue uncordoned, green drained and deleted, no budget broken.
 */
import { describe, expect, it } from 'vitest';
import {
  planRollback,
  type RunEvent,
  requestPause,
  resumeRun,
  rollbackRun,
  startRun,
} from '../../src/engine/index.ts';
import { FAST, harness, nodes, planFor, SandboxApiProvider, startCluster } from './engine-harness.ts';
import {
  blueGreenPolicy,
  expectPoolReplaced,
  machines,
  SURGE_CLUSTER,
  witnessProvider,
} from './surge-harness.ts';

const TARGET = 'v1.31.2';
const BLUE = ['general-1', 'general-2', 'general-3'];

describe('strategy blue-green', () => {
  it('creates the green pool, cordons blue, drains it in waves, holds it for the final soak, then deletes it', async () => {
    const sandbox = await startCluster(SURGE_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const plan = await planFor(sandbox, TARGET, blueGreenPolicy('20s'));
      const waves = plan.phases.flatMap((p) => p.steps).filter((s) => s.kind === 'node-wave');
      expect(waves.map((s) => s.title)).toEqual([
        'Drain 2 blue nodes (general) onto the green nodes at v1.31.2',
        'Drain general-3 (general) onto the green nodes at v1.31.2',
      ]);
      const witness = witnessProvider(sandbox, plan);
      const summary = await startRun({ ...h.deps, nodeProvider: witness }, plan, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      await expectPoolReplaced(sandbox, summary.runId, TARGET);
      expect(summary.nodes.upgraded).toEqual([]);
      expect(summary.nodes.replaced?.map((r) => r.node).sort()).toEqual(BLUE);
      expect(witness.creates).toBe(3);
      expect(witness.deletes.sort()).toEqual(BLUE);
      expect(witness.podsAtDelete).toEqual([]);

      // In order: every green node Ready and every blue node cordoned, then the first drain; the blue pool
      // held, then deleted.
      const events = h.events;
      const at = (test: (e: RunEvent) => boolean) => events.findIndex(test);
      const lastOf = (test: (e: RunEvent) => boolean) => events.findLastIndex(test);
      const firstDrain = at((e) => e.type === 'node-changed' && e.activity === 'drain');
      const greenReady = lastOf(
        (e) =>
          e.type === 'node-changed' && e.stepId === 'green-general' && e.activity === 'replacement ready',
      );
      const blueCordoned = lastOf(
        (e) => e.type === 'node-changed' && e.stepId === 'green-general' && e.activity === 'cordoned',
      );
      const held = at((e) => e.type === 'log' && e.message.includes('is held for 20s'));
      const firstDelete = at((e) => e.type === 'node-changed' && e.activity === 'delete');
      expect(greenReady).toBeGreaterThan(-1);
      expect(blueCordoned).toBeGreaterThan(greenReady);
      expect(firstDrain).toBeGreaterThan(blueCordoned);
      expect(held).toBeGreaterThan(firstDrain);
      expect(firstDelete).toBeGreaterThan(held);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 90_000);

  it('rolled back during the final soak: blue uncordoned, green drained back and deleted, no budget broken', async () => {
    const sandbox = await startCluster(SURGE_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const plan = await planFor(sandbox, TARGET, blueGreenPolicy('10m'));
      const witness = witnessProvider(sandbox, plan);
      const deps = { ...h.deps, nodeProvider: witness };
      deps.onEvent = (e: RunEvent) => {
        if (e.type === 'log' && e.message.includes('is held for')) requestPause(h.deps.store, e.runId);
      };
      const paused = await startRun(deps, plan, FAST);
      expect(paused.state).toBe('paused');
      // The blue pool is drained and held, cordoned; the green pool serves.
      const during = await nodes(sandbox);
      expect(during.filter((n) => BLUE.includes(n.name)).every((n) => n.unschedulable)).toBe(true);

      // What `midflight rollback` announces: the blue pool back, the green one out.
      const preview = planRollback(h.deps, paused.runId, { steps: 'all' });
      expect(preview.nodes).toEqual([]);
      expect(preview.blueGreen.map((p) => [p.blue, p.green, p.uncordonBlue])).toEqual([
        ['general-1', 'general-4', true],
        ['general-2', 'general-5', true],
        ['general-3', 'general-6', true],
      ]);
      const summary = await rollbackRun({ ...deps, onEvent: undefined }, paused.runId, FAST);
      expect(summary.state).toBe('rolled-back');
      const after = (await nodes(sandbox)).filter((n) => n.labels['midflight.dev/pool'] === 'general');
      expect(after.map((n) => [n.name, n.version, n.ready, n.unschedulable])).toEqual(
        BLUE.map((n) => [n, 'v1.30.6', true, false]),
      );
      expect(await machines(sandbox)).toEqual([]);
      expect(witness.deletes.sort()).toEqual(['general-4', 'general-5', 'general-6']);
      expect(witness.podsAtDelete).toEqual([]);
      const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
      expect(items).toEqual([]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 90_000);
});

describe('strategy blue-green, faults', () => {
  it('stops when the quota cannot hold the green pool, drains nothing, and finishes once it can', async () => {
    const sandbox = await startCluster(SURGE_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      // Room for two green nodes, not three: the pool needs twice its size while it runs.
      await sandbox.request('PATCH', '/sandbox/v1/faults', { body: { poolQuota: { general: 5 } } });
      const plan = await planFor(sandbox, TARGET, blueGreenPolicy('5s'));
      const witness = witnessProvider(sandbox, plan);
      const summary = await startRun({ ...h.deps, nodeProvider: witness }, plan, FAST);
      expect(summary.state).toBe('failed');
      expect(summary.reason).toMatch(
        /could not create a replacement for general-\d in pool general: the sandbox refused to create 1 node\(s\) in pool general: quota exceeded: pool general holds 5 node\(s\) and its quota is 5/,
      );
      // Nothing was cordoned or drained: the blue pool serves as before.
      const blue = (await nodes(sandbox)).filter((n) => BLUE.includes(n.name));
      expect(blue.map((n) => [n.name, n.ready, n.unschedulable])).toEqual(BLUE.map((n) => [n, true, false]));

      await sandbox.request('PATCH', '/sandbox/v1/faults', { body: { poolQuota: { general: 6 } } });
      const resumed = await resumeRun({ ...h.deps, nodeProvider: witness }, summary.runId, FAST);
      expect(resumed.reason).toBeUndefined();
      expect(resumed.state).toBe('succeeded');
      await expectPoolReplaced(sandbox, summary.runId, TARGET);
      // Three creates asked at first (one refused), one more on resume: no green node made twice.
      expect(witness.creates).toBe(4);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 90_000);

  it('a health gate saying rollback during the final soak returns the blue pool and removes the green one', async () => {
    const sandbox = await startCluster(SURGE_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    // A gate whose signal the test holds: it passes until the final soak begins, then says rollback (as a
    // 5xx gate would once the green pool served badly).
    let soaking = false;
    h.deps.gates = () => ({
      baseline: async (known) => known,
      check: async () =>
        soaking
          ? { action: 'rollback', gate: 'green-5xx', reason: 'the green pool answers 5xx' }
          : { action: 'continue' },
    });
    try {
      const plan = await planFor(sandbox, TARGET, blueGreenPolicy('10m'));
      const witness = witnessProvider(sandbox, plan);
      const onEvent = (e: RunEvent) => {
        if (e.type === 'log' && e.message.includes('is held for')) soaking = true;
      };
      const summary = await startRun({ ...h.deps, nodeProvider: witness, onEvent }, plan, FAST);
      expect(summary.state).toBe('rolled-back');
      expect(summary.reason).toMatch(/^health gate green-5xx: the green pool answers 5xx; /);
      const after = (await nodes(sandbox)).filter((n) => n.labels['midflight.dev/pool'] === 'general');
      expect(after.map((n) => [n.name, n.version, n.ready, n.unschedulable])).toEqual(
        BLUE.map((n) => [n, 'v1.30.6', true, false]),
      );
      expect(await machines(sandbox)).toEqual([]);
      expect(witness.podsAtDelete).toEqual([]);
      const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
      expect(items).toEqual([]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 90_000);
});
