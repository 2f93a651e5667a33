/** Failures the run must survive or stop on cleanly: dead nodes, failing upgrades, a flaky API server. */
import { describe, expect, it } from 'vitest';
import { resumeRun, startRun } from '../../src/engine/index.ts';
import { patchFaults } from '../kube/sandbox-faults.ts';
import {
  CountingProvider,
  expectUpgraded,
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  startCluster,
  testPolicy,
  WORKERS_CLUSTER,
} from './engine-harness.ts';

describe('failures', () => {
  it('a node that never comes back: the run fails naming it, leaves the rest alone, and resumes once repaired', async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const plan = await planFor(sandbox, 'v1.31.2');
      const order = plan.phases.flatMap((p) =>
        p.steps.flatMap((s) => (s.kind === 'node-wave' || s.kind === 'canary' ? s.nodes : [])),
      );
      const [first, broken, last] = order as [string, string, string];
      await patchFaults(sandbox, { nodesNeverReady: [broken] });
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.state).toBe('failed');
      expect(summary.reason).toMatch(
        new RegExp(`upgrade of ${broken} to v1.31.2 failed .*did not come back`),
      );
      expect(summary.nodes.failed).toEqual([
        expect.objectContaining({ node: broken, reason: expect.stringMatching(/left cordoned/) }),
      ]);
      const after = Object.fromEntries((await nodes(sandbox)).map((n) => [n.name, n]));
      expect(after[first]).toMatchObject({ version: 'v1.31.2', unschedulable: false });
      expect(after[broken]).toMatchObject({ unschedulable: true });
      expect(after[last]).toMatchObject({ version: 'v1.30.6', unschedulable: false });

      await patchFaults(sandbox, { nodesNeverReady: [] });
      const resumed = await resumeRun(h.deps, summary.runId, FAST);
      expect(resumed.state).toBe('succeeded');
      await expectUpgraded(sandbox, 'v1.31.2');
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 30_000);

  it.each([
    [2, 'succeeded', 3],
    [0, 'failed', 1],
  ])(
    'an upgrade failing twice with provider.retries %i: the run %s',
    async (retries, state, calls) => {
      const sandbox = await startCluster(WORKERS_CLUSTER);
      const provider = new CountingProvider(new SandboxApiProvider(sandbox));
      const h = harness(sandbox, provider);
      try {
        const policy = testPolicy({
          provider: { kind: 'command', command: 'unused', retries, retryDelay: '5s' },
        });
        const plan = await planFor(sandbox, 'v1.31.2', policy);
        await patchFaults(sandbox, { upgradeFailures: { 'general-2': 2 } });
        const summary = await startRun(h.deps, plan, FAST);
        expect(summary.state).toBe(state);
        expect(provider.calls.get('general-2')).toBe(calls);
        if (state === 'failed') {
          expect(summary.reason).toMatch(
            /upgrade of general-2 to v1.31.2 failed after 1 attempt\(s\): .*injected fault/,
          );
          // It is still Ready at its old version: back in service.
          expect((await nodes(sandbox)).filter((n) => n.unschedulable)).toEqual([]);
        } else await expectUpgraded(sandbox, 'v1.31.2');
      } finally {
        h.cleanup();
        await sandbox.stop();
      }
    },
    30_000,
  );

  it('a provider that fails with a bug (a TypeError) is not retried: unknown failures are permanent', async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const real = new SandboxApiProvider(sandbox);
    let bugs = 0;
    const provider = new CountingProvider({
      kind: 'buggy',
      upgradeNode(ctx) {
        if (ctx.node === 'general-2' && bugs++ === 0)
          return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'status')"));
        return real.upgradeNode(ctx);
      },
    });
    const h = harness(sandbox, provider);
    try {
      const policy = testPolicy({
        provider: { kind: 'command', command: 'unused', retries: 2, retryDelay: '5s' },
      });
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2', policy), FAST);
      expect(summary.state).toBe('failed');
      expect(summary.reason).toMatch(
        /upgrade of general-2 to v1.31.2 failed after 1 attempt\(s\): Cannot read/,
      );
      expect(provider.calls.get('general-2')).toBe(1);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 30_000);

  it.each([500, 429])(
    'survives the API server failing 15 percent of requests with HTTP %i',
    async (code) => {
      const sandbox = await startCluster(WORKERS_CLUSTER);
      const h = harness(sandbox, new SandboxApiProvider(sandbox));
      try {
        const plan = await planFor(sandbox, 'v1.31.2');
        await patchFaults(sandbox, { api: { errorRate: 0.15, code } });
        const summary = await startRun(h.deps, plan, FAST);
        expect(summary.reason).toBeUndefined();
        expect(summary.state).toBe('succeeded');
        await patchFaults(sandbox, { api: { errorRate: 0 } });
        await expectUpgraded(sandbox, 'v1.31.2');
      } finally {
        h.cleanup();
        await sandbox.stop();
      }
    },
    30_000,
  );
});
