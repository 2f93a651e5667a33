/**
 * One minor at a time on nodes: kubeadm and the kubelet packages do not skip minors, so a kubelet two minors
 * behind is moved by one provider call per minor, each verified, and a rollback comes down the same way.
 * A provider that replaces machines (skipsMinors) gets one call.
 */
import { describe, expect, it } from 'vitest';
import { rollbackRun, startRun } from '../../src/engine/index.ts';
import {
  CountingProvider,
  FAST,
  harness,
  LAGGING_CLUSTER,
  nodes,
  planFor,
  SandboxApiProvider,
  startCluster,
} from './engine-harness.ts';

describe('node upgrades across several minors', () => {
  it('calls the provider once per minor, up and (rollback) down', async () => {
    const sandbox = await startCluster(LAGGING_CLUSTER);
    const provider = new CountingProvider(new SandboxApiProvider(sandbox));
    const h = harness(sandbox, provider);
    try {
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2'), FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      for (const node of ['general-1', 'general-2']) {
        // v1.30.14: the latest known patch of the minor in between.
        expect(provider.upgrades.filter((u) => u.node === node)).toEqual([
          { node, from: 'v1.29.10', to: 'v1.30.14' },
          { node, from: 'v1.30.14', to: 'v1.31.2' },
        ]);
      }
      // Every hop shows in the run log with the versions it moved between.
      const hopLogs = h.deps.store
        .logs(summary.runId)
        .filter(
          (l) => l.node === 'general-1' && /upgrading general-1 to .* \(minor \d of 2\)/.test(l.message),
        );
      expect(hopLogs.map((l) => l.data)).toEqual([
        { from: 'v1.29.10', to: 'v1.30.14' },
        { from: 'v1.30.14', to: 'v1.31.2' },
      ]);

      const rolledBack = await rollbackRun(h.deps, summary.runId, FAST);
      expect(rolledBack.state).toBe('rolled-back');
      for (const node of ['general-1', 'general-2'])
        expect(provider.hopsOf(node)).toEqual(['v1.30.14', 'v1.31.2', 'v1.30.14', 'v1.29.10']);
      for (const n of await nodes(sandbox))
        expect({ node: n.name, version: n.version }).toEqual({
          node: n.name,
          version: n.name === 'cp-1' ? 'v1.31.2' : 'v1.29.10',
        });
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('gives a provider that declares skipsMinors one call to the target', async () => {
    // The sandbox lets a kubelet jump minors only when told to: it then stands for replaced machines.
    const sandbox = await startCluster(`${LAGGING_CLUSTER}allowKubeletMinorSkip: true\n`);
    const provider = new CountingProvider(new SandboxApiProvider(sandbox), true);
    const h = harness(sandbox, provider);
    try {
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2'), FAST);
      expect(summary.state).toBe('succeeded');
      expect(provider.hopsOf('general-1')).toEqual(['v1.31.2']);
      expect(provider.hopsOf('general-2')).toEqual(['v1.31.2']);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);
});
