import { beforeEach, describe, expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import type { SandboxContext } from '../../../src/sandbox/context.ts';
import { evictPod, noteClientPodDeletion } from '../../../src/sandbox/sim/disruption/eviction.ts';
import { PdbController } from '../../../src/sandbox/sim/disruption/pdb-controller.ts';
import { StatusError } from '../../../src/sandbox/status.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';
import { controllerContext, PodSimulator, settle } from './controller-context.ts';

type Ctx = ReturnType<typeof controllerContext>;

function eviction(name: string, deleteOptions?: Record<string, unknown>): KubeObject {
  return { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'app' }, deleteOptions };
}

/** Runs an eviction and returns the Status body of its failure, or 'ok'. */
function tryEvict(ctx: SandboxContext, name: string, deleteOptions?: Record<string, unknown>) {
  try {
    evictPod(ctx, 'app', name, eviction(name, deleteOptions));
    return 'ok';
  } catch (err) {
    if (err instanceof StatusError) return err.toBody();
    throw err;
  }
}

/** A ReplicaSet `web` of `count` pods web-0…, each Running and Ready on node-1, with a budget. */
async function setUp(ctx: Ctx, count: number, pdbSpec?: Record<string, unknown>) {
  const rs = ctx.store.create(R.replicasets, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'app' },
    spec: { replicas: count, selector: { matchLabels: { app: 'web' } } },
  });
  for (let i = 0; i < count; i++) {
    ctx.store.create(R.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `web-${i}`,
        namespace: 'app',
        labels: { app: 'web' },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid!, controller: true },
        ],
      },
      spec: { nodeName: 'node-1', terminationGracePeriodSeconds: 30 },
      status: { phase: 'Pending' },
    });
  }
  new PodSimulator(ctx).makeReady();
  if (pdbSpec) createPdb(ctx, 'web-pdb', pdbSpec);
  await settle(ctx);
}

function createPdb(ctx: Ctx, name: string, spec: Record<string, unknown>) {
  ctx.store.create(R.pdbs, {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: 'app' },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
  });
}

const pdbStatus = (ctx: SandboxContext, name = 'web-pdb') => ctx.store.get(R.pdbs, 'app', name)?.status;
const pod = (ctx: SandboxContext, name: string) => ctx.store.get(R.pods, 'app', name);

async function metric(ctx: SandboxContext, result: string): Promise<number> {
  const values = (await ctx.metrics.getSingleMetric('sandbox_evictions_total')?.get())?.values ?? [];
  return values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('evictPod', () => {
  let ctx: Ctx;
  let pdbs: PdbController;
  beforeEach(() => {
    ctx = controllerContext();
    pdbs = new PdbController(ctx);
    pdbs.start();
    return () => pdbs.stop();
  });

  it('evicts a pod the budget allows: decrements, records the disruption, marks and deletes the pod gracefully', async () => {
    await setUp(ctx, 3, { maxUnavailable: 1 });
    expect(pdbStatus(ctx)).toMatchObject({ disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2 });

    expect(tryEvict(ctx, 'web-0', { gracePeriodSeconds: 10 })).toBe('ok');

    const status = pdbStatus(ctx);
    expect(status.disruptionsAllowed).toBe(0);
    expect(status.disruptedPods).toEqual({ 'web-0': '2026-01-01T00:00:00Z' });
    expect(status.conditions[0]).toMatchObject({ status: 'False', reason: 'InsufficientPods' });
    const evicted = pod(ctx, 'web-0')!;
    expect(evicted.metadata.deletionTimestamp).toBe('2026-01-01T00:00:10Z');
    expect(evicted.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'DisruptionTarget',
        status: 'True',
        reason: 'EvictionByEvictionAPI',
        message: 'Eviction API: evicting',
      }),
    );
    expect(ctx.violations).toEqual([]);
    expect(await metric(ctx, 'allowed')).toBe(1);
  });

  it('refuses with the exact 429 body when the budget allows no disruption', async () => {
    await setUp(ctx, 2, { minAvailable: 2 });
    expect(tryEvict(ctx, 'web-1')).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      reason: 'TooManyRequests',
      details: {
        causes: [
          {
            reason: 'DisruptionBudget',
            message: 'The disruption budget web-pdb needs 2 healthy pods and has 2 currently',
          },
        ],
      },
      code: 429,
    });
    expect(pod(ctx, 'web-1')!.metadata.deletionTimestamp).toBeUndefined();
    expect(await metric(ctx, 'blocked')).toBe(1);
  });

  it('refuses the second of two evictions the budget has room for only once', async () => {
    await setUp(ctx, 3, { maxUnavailable: 1 });
    expect(tryEvict(ctx, 'web-0')).toBe('ok');
    expect(tryEvict(ctx, 'web-1')).toMatchObject({ code: 429 });
    await settle(ctx);
    // The evicted pod is still terminating: the budget keeps counting it as gone.
    expect(pdbStatus(ctx)).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 0 });
  });

  it('answers 500 without a reason when two budgets select the pod', async () => {
    await setUp(ctx, 3, { maxUnavailable: 1 });
    createPdb(ctx, 'other-pdb', { minAvailable: 1 });
    await settle(ctx);
    expect(tryEvict(ctx, 'web-0')).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      code: 500,
    });
    expect(await metric(ctx, 'error')).toBe(1);
  });

  it('answers 404 for a missing pod', () => {
    expect(tryEvict(ctx, 'ghost')).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'pods "ghost" not found',
    });
  });

  it('deletes a Pending pod without asking the budget', async () => {
    await setUp(ctx, 2, { minAvailable: 2 });
    ctx.store.mutate(R.pods, 'app', 'web-0', (draft) => {
      draft.status = { phase: 'Pending' };
    });
    expect(tryEvict(ctx, 'web-0')).toBe('ok');
    expect(pod(ctx, 'web-0')!.metadata.deletionTimestamp).toBeDefined();
    expect(pdbStatus(ctx).disruptedPods).toBeUndefined();
  });

  it('deletes a pod without budget when no budget selects it', async () => {
    await setUp(ctx, 1);
    expect(tryEvict(ctx, 'web-0')).toBe('ok');
    expect(pod(ctx, 'web-0')!.metadata.deletionTimestamp).toBeDefined();
  });

  describe('an unready pod', () => {
    it('is deleted without decrement when the budget is met (IfHealthyBudget, the default)', async () => {
      await setUp(ctx, 4, { minAvailable: 2 });
      new PodSimulator(ctx).setReady(pod(ctx, 'web-3')!, false);
      await settle(ctx);
      expect(pdbStatus(ctx)).toMatchObject({ currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1 });
      expect(tryEvict(ctx, 'web-3')).toBe('ok');
      expect(pdbStatus(ctx)).toMatchObject({ disruptionsAllowed: 1 });
      expect(pdbStatus(ctx).disruptedPods).toBeUndefined();
    });

    it.each([
      { policy: undefined, outcome: 'refused' },
      { policy: 'IfHealthyBudget', outcome: 'refused' },
      { policy: 'AlwaysAllow', outcome: 'ok' },
    ])('under a budget that is not met, policy $policy → $outcome', async ({ policy, outcome }) => {
      await setUp(ctx, 2, { minAvailable: 2, unhealthyPodEvictionPolicy: policy });
      new PodSimulator(ctx).setReady(pod(ctx, 'web-1')!, false);
      await settle(ctx);
      expect(pdbStatus(ctx)).toMatchObject({ currentHealthy: 1, desiredHealthy: 2, disruptionsAllowed: 0 });
      const result = tryEvict(ctx, 'web-1');
      if (outcome === 'ok') expect(result).toBe('ok');
      else
        expect(result).toMatchObject({
          code: 429,
          details: {
            causes: [{ message: 'The disruption budget web-pdb needs 2 healthy pods and has 1 currently' }],
          },
        });
      expect(ctx.violations).toEqual([]);
    });
  });

  it('answers 429 "still being processed" while the budget status lags its generation', async () => {
    await setUp(ctx, 3, { maxUnavailable: 1 });
    pdbs.stop();
    ctx.store.mutate(R.pdbs, 'app', 'web-pdb', (draft) => {
      draft.spec.maxUnavailable = 2;
    });
    expect(tryEvict(ctx, 'web-0')).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      reason: 'TooManyRequests',
      details: {
        causes: [
          {
            reason: 'DisruptionBudget',
            message: 'The disruption budget web-pdb is still being processed by the server.',
          },
        ],
        retryAfterSeconds: 10,
      },
      code: 429,
    });
  });

  it('answers 403 when disruptionsAllowed is negative', async () => {
    await setUp(ctx, 3, { maxUnavailable: 1 });
    pdbs.stop();
    ctx.store.mutate(R.pdbs, 'app', 'web-pdb', (draft) => {
      draft.status.disruptionsAllowed = -1;
    });
    expect(tryEvict(ctx, 'web-0')).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message: 'poddisruptionbudget.policy "web-pdb" is forbidden: pdb disruptions allowed is negative',
    });
  });

  it('changes nothing on a dry run', async () => {
    await setUp(ctx, 3, { maxUnavailable: 1 });
    const before = ctx.store.resourceVersion;
    expect(tryEvict(ctx, 'web-0', { dryRun: ['All'] })).toBe('ok');
    expect(ctx.store.resourceVersion).toBe(before);
  });

  it('checks a uid precondition before touching the budget', async () => {
    await setUp(ctx, 3, { maxUnavailable: 1 });
    expect(tryEvict(ctx, 'web-0', { preconditions: { uid: 'other' } })).toMatchObject({
      code: 409,
      reason: 'Conflict',
    });
    expect(pdbStatus(ctx).disruptionsAllowed).toBe(1);
  });

  it('lets the budget count the pod again when it was not deleted within two minutes', async () => {
    await setUp(ctx, 3, { maxUnavailable: 1 });
    expect(tryEvict(ctx, 'web-0')).toBe('ok');
    // A pod that ignores its deletion: put it back as if the kubelet never saw it.
    ctx.store.mutate(R.pods, 'app', 'web-0', (draft) => {
      delete draft.metadata.deletionTimestamp;
    });
    // Still excluded: disruptedPods only drops an entry when the pod starts terminating or after 2 min.
    await settle(ctx);
    expect(pdbStatus(ctx)).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 0 });
    await ctx.clock.advance(120_000);
    expect(pdbStatus(ctx)).toMatchObject({ currentHealthy: 3, disruptionsAllowed: 1 });
    expect(pdbStatus(ctx).disruptedPods).toBeUndefined();
  });
});

describe('violation record', () => {
  let ctx: Ctx;
  let pdbs: PdbController;
  beforeEach(() => {
    ctx = controllerContext();
    pdbs = new PdbController(ctx);
    pdbs.start();
    return () => pdbs.stop();
  });

  it('records a client delete that takes a budget below its desired healthy count', async () => {
    await setUp(ctx, 2, { minAvailable: 2 });
    noteClientPodDeletion(ctx, pod(ctx, 'web-0')!);
    expect(ctx.violations).toEqual([
      {
        time: '2026-01-01T00:00:00Z',
        namespace: 'app',
        pdb: 'web-pdb',
        pod: 'web-0',
        cause: 'delete',
        healthyAfter: 1,
        desiredHealthy: 2,
      },
    ]);
  });

  it('does not record a client delete the budget had room for, nor one of an unready pod', async () => {
    await setUp(ctx, 3, { minAvailable: 2 });
    noteClientPodDeletion(ctx, pod(ctx, 'web-0')!);
    new PodSimulator(ctx).setReady(pod(ctx, 'web-1')!, false);
    noteClientPodDeletion(ctx, pod(ctx, 'web-1')!);
    expect(ctx.violations).toEqual([]);
  });

  it('never records allowed evictions, even when they use up the budget', async () => {
    await setUp(ctx, 4, { maxUnavailable: 2 });
    const sim = new PodSimulator(ctx);
    for (const name of ['web-0', 'web-1', 'web-2']) {
      tryEvict(ctx, name);
      await settle(ctx);
    }
    expect(pod(ctx, 'web-2')!.metadata.deletionTimestamp).toBeUndefined();
    sim.finishTerminating();
    await settle(ctx);
    expect(ctx.violations).toEqual([]);
  });
});
