/**
 * Kills the engine at seeded points (every store write from the Nth on fails, as if the process died
 * there) and resumes the run from the same state file: every node ends at the target, none is left
 * cordoned, no node's kubelet changed version twice, and no disruption budget was ever violated.
 */
import { describe, expect, it } from 'vitest';
import { resumeRun, startRun } from '../../src/engine/index.ts';
import {
  CountingProvider,
  CrashError,
  commandProvider,
  crashAt,
  expectUpgraded,
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  SMALL_CLUSTER,
  seeded,
  startCluster,
  VersionWatch,
} from './engine-harness.ts';

// A full run of SMALL_CLUSTER writes about 135 times with the API provider: early, middle and late crashes.
const SEEDS = [7, 99, 2024];

describe('crash and resume', () => {
  it.each(SEEDS.map((seed) => [seed, 3 + Math.floor(seeded(seed)() * 130)]))(
    'seed %i: killed at store write %i, resumed to a clean finish',
    async (_seed, crashWrite) => {
      const sandbox = await startCluster(SMALL_CLUSTER);
      const watch = new VersionWatch(sandbox);
      const provider = new CountingProvider(new SandboxApiProvider(sandbox));
      const h = harness(sandbox, provider, { beforeWrite: crashAt(crashWrite) });
      try {
        await watch.start();
        const plan = await planFor(sandbox, 'v1.31.2');
        await expect(startRun(h.deps, plan, FAST)).rejects.toBeInstanceOf(CrashError);

        const store = h.openStore();
        const [run] = store.listRuns();
        expect(run?.state).toMatch(/pending|running/);
        const summary = await resumeRun({ ...h.deps, store }, run!.id, FAST);
        expect(summary.reason).toBeUndefined();
        expect(summary.state).toBe('succeeded');
        await expectUpgraded(sandbox, 'v1.31.2');
        await new Promise((r) => setTimeout(r, 100));
        for (const n of await nodes(sandbox))
          expect({ node: n.name, changes: watch.changes.get(n.name) }).toEqual({ node: n.name, changes: 1 });
      } finally {
        watch.stop();
        h.cleanup();
        await sandbox.stop();
      }
    },
    // A safety net, not a measure: a run and its resume take 10–30 s of wall time at FAST's scale on a loaded
    // machine.
    90_000,
  );

  it('kills the engine while the command provider upgrades a node; the resumed run joins that upgrade', async () => {
    const sandbox = await startCluster(SMALL_CLUSTER);
    const watch = new VersionWatch(sandbox);
    const provider = new CountingProvider(commandProvider(sandbox));
    let crashNow = false;
    const h = harness(sandbox, provider, {
      beforeWrite: () => {
        if (crashNow) throw new CrashError(0);
      },
    });
    h.deps.onEvent = (e) => {
      // The moment the canary's provider command is running: die.
      if (e.type === 'log' && e.level === 'debug' && e.message.startsWith('$ ') && !e.node?.startsWith('cp-'))
        crashNow = true;
    };
    try {
      await watch.start();
      const plan = await planFor(sandbox, 'v1.31.2');
      await expect(startRun(h.deps, plan, FAST)).rejects.toBeInstanceOf(CrashError);
      const store = h.openStore();
      const [run] = store.listRuns();
      const summary = await resumeRun({ ...h.deps, store, onEvent: undefined }, run!.id, FAST);
      expect(summary.state).toBe('succeeded');
      await expectUpgraded(sandbox, 'v1.31.2');
      await new Promise((r) => setTimeout(r, 100));
      for (const n of await nodes(sandbox)) expect(watch.changes.get(n.name)).toBe(1);
    } finally {
      watch.stop();
      h.cleanup();
      await sandbox.stop();
    }
  }, 150_000); // about 40 s alone; up to 81 s seen under a loaded machine

  it('kills the engine while cp-1 upgrades; resumed after that upgrade finished, cp-1 is not upgraded again', async () => {
    const sandbox = await startCluster(SMALL_CLUSTER);
    const watch = new VersionWatch(sandbox);
    let crashNow = false;
    const h = harness(sandbox, commandProvider(sandbox), {
      beforeWrite: () => {
        if (crashNow) throw new CrashError(0);
      },
    });
    h.deps.onEvent = (e) => {
      // cp-1's provider command is running: die.
      if (e.type === 'log' && e.level === 'debug' && e.message.startsWith('$ ') && e.node === 'cp-1')
        crashNow = true;
    };
    try {
      await watch.start();
      const plan = await planFor(sandbox, 'v1.31.2');
      await expect(startRun(h.deps, plan, FAST)).rejects.toBeInstanceOf(CrashError);
      // The upgrade the dead process started goes on in the cluster (kubeadm on the node); wait for its end.
      for (let i = 0; ; i++) {
        const cp = (await nodes(sandbox)).find((n) => n.name === 'cp-1')!;
        if (cp.version === 'v1.31.2' && cp.ready) break;
        if (i > 600) throw new Error(`cp-1 never reached v1.31.2: ${JSON.stringify(cp)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const store = h.openStore();
      const [run] = store.listRuns();
      const provider = new CountingProvider(new SandboxApiProvider(sandbox));
      const summary = await resumeRun({ ...h.deps, store, provider, onEvent: undefined }, run!.id, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      expect(provider.calls.get('cp-1')).toBeUndefined();
      await expectUpgraded(sandbox, 'v1.31.2');
      await new Promise((r) => setTimeout(r, 100));
      expect(watch.changes.get('cp-1')).toBe(1);
    } finally {
      watch.stop();
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);
});
