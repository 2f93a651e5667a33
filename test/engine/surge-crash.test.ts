/**
 * strategy surge killed and resumed (issue 14): the engine dies at seeded store writes, and right after the
 * node provider created or deleted a node (before the engine could record it); the resumed run finishes with
 * no node created twice, none orphaned, none deleted with pods other than DaemonSet ones, nothing left
 * cordoned and no budget violated.
 */
import { describe, expect, it } from 'vitest';
import { resumeRun, startRun } from '../../src/engine/index.ts';
import { nodeProviderFromPolicy } from '../../src/providers/index.ts';
import {
  CrashError,
  crashAt,
  FAST,
  harness,
  planFor,
  SandboxApiProvider,
  seeded,
  startCluster,
} from './engine-harness.ts';
import { DyingNodeProvider, expectPoolReplaced, SURGE_CLUSTER, surgePolicy } from './surge-harness.ts';

const TARGET = 'v1.31.2';
// A surge run of SURGE_CLUSTER writes to the store about 86 times: crashes early, in the middle and late.
const SEEDS = [7, 99, 11, 41];
const BLUE_GREEN_SEEDS = [13, 2026];
const BLUE_GREEN = surgePolicy({
  canary: { nodes: 0 },
  timings: { waveSoak: '2s' },
  pools: [{ name: 'general', strategy: 'blue-green', maxUnavailable: 1, waveSize: 2, finalSoak: '10s' }],
});

async function killAndResume(options: {
  crashWrite?: number;
  dieAfter?: { create?: number; delete?: number };
  policy?: ReturnType<typeof surgePolicy>;
}) {
  const sandbox = await startCluster(SURGE_CLUSTER);
  let provider: DyingNodeProvider | undefined;
  const h = harness(sandbox, new SandboxApiProvider(sandbox), {
    beforeWrite: (n) => {
      if (provider?.dead) throw new CrashError(n);
      crashAt(options.crashWrite ?? Number.POSITIVE_INFINITY)?.(n);
    },
  });
  try {
    const plan = await planFor(sandbox, TARGET, options.policy ?? surgePolicy());
    provider = new DyingNodeProvider(
      nodeProviderFromPolicy(plan.policy.nodeProvider!, { kc: sandbox.kubeConfig() }),
      sandbox,
      options.dieAfter ?? {},
    );
    await expect(startRun({ ...h.deps, nodeProvider: provider }, plan, FAST)).rejects.toBeInstanceOf(
      CrashError,
    );
    provider.dead = false;
    const store = h.openStore();
    const [run] = store.listRuns();
    const summary = await resumeRun({ ...h.deps, store, nodeProvider: provider }, run!.id, FAST);
    expect(summary.reason).toBeUndefined();
    expect(summary.state).toBe('succeeded');
    await expectPoolReplaced(sandbox, run!.id, TARGET);
    // One create per old node, whatever the crash hid; each delete found only DaemonSet pods on its node.
    expect(provider.creates).toBe(3);
    expect(provider.podsAtDelete).toEqual([]);
  } finally {
    h.cleanup();
    await sandbox.stop();
  }
}

describe('strategy surge, killed and resumed', () => {
  it.each(SEEDS.map((seed) => [seed, 3 + Math.floor(seeded(seed)() * 80)]))(
    'seed %i: killed at store write %i, resumed to a clean finish',
    async (_seed, crashWrite) => killAndResume({ crashWrite }),
    90_000,
  );

  it.each([
    ['the first create', { create: 1 }],
    ['the second create', { create: 2 }],
    ['the first delete', { delete: 1 }],
    ['the last delete', { delete: 3 }],
  ])(
    'killed right after %s, before it was recorded: adopted, not repeated',
    async (_what, dieAfter) => killAndResume({ dieAfter }),
    90_000,
  );

  it.each(BLUE_GREEN_SEEDS.map((seed) => [seed, 3 + Math.floor(seeded(seed)() * 90)]))(
    'blue-green, seed %i: killed at store write %i, resumed to a clean finish',
    async (_seed, crashWrite) => killAndResume({ crashWrite, policy: BLUE_GREEN }),
    90_000,
  );

  it(
    'blue-green: killed right after the second green create, before it was recorded: adopted, not repeated',
    async () => killAndResume({ dieAfter: { create: 2 }, policy: BLUE_GREEN }),
    90_000,
  );
});
