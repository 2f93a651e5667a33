import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import { DeploymentController } from '../../../src/sandbox/sim/controllers/deployment-controller.ts';
import { ReplicaSetController } from '../../../src/sandbox/sim/controllers/replicaset-controller.ts';
import { evictPod } from '../../../src/sandbox/sim/disruption/eviction.ts';
import { PdbController } from '../../../src/sandbox/sim/disruption/pdb-controller.ts';
import { controllerContext, eventsFor, livePods, PodSimulator, settle } from './controller-context.ts';

describe('PdbController', () => {
  let ctx: ReturnType<typeof controllerContext>;
  let sim: PodSimulator;
  let actors: Array<{ start(): void; stop(): void }>;
  beforeEach(() => {
    ctx = controllerContext();
    sim = new PodSimulator(ctx);
    actors = [new ReplicaSetController(ctx), new DeploymentController(ctx), new PdbController(ctx)];
    for (const a of actors) a.start();
  });
  afterEach(() => {
    for (const a of actors) a.stop();
  });

  async function converge() {
    for (let i = 0; i < 5; i++) {
      await settle(ctx);
      sim.makeReady();
      sim.finishTerminating();
    }
    await settle(ctx);
  }

  function createDeployment(replicas: number) {
    ctx.store.create(R.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'web:1' }] },
        },
      },
    });
  }

  function createPdb(spec: Record<string, unknown>) {
    ctx.store.create(R.pdbs, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web-pdb', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
    });
  }

  const status = () => ctx.store.get(R.pdbs, 'default', 'web-pdb')!.status;

  it('follows the Deployment scale through its ReplicaSet', async () => {
    createDeployment(4);
    createPdb({ maxUnavailable: '25%' });
    await converge();
    expect(status()).toMatchObject({
      expectedPods: 4,
      currentHealthy: 4,
      desiredHealthy: 3,
      disruptionsAllowed: 1,
    });
    ctx.store.mutate(R.deployments, 'default', 'web', (d) => {
      d.spec.replicas = 8;
    });
    await settle(ctx);
    expect(status()).toMatchObject({ expectedPods: 8, desiredHealthy: 6 });
    await converge();
    expect(status()).toMatchObject({ currentHealthy: 8, disruptionsAllowed: 2 });
  });

  it('drains pod by pod without ever going below the budget', async () => {
    createDeployment(5);
    createPdb({ minAvailable: 4 });
    await converge();
    const originals = livePods(ctx).map((p) => p.metadata.name!);
    const pending = [...originals];
    for (let round = 0; round < 30 && pending.length; round++) {
      const name = pending[0]!;
      try {
        evictPod(ctx, 'default', name, { metadata: { name } });
        pending.shift();
      } catch {
        // 429: wait for the replacement to become Ready.
      }
      await settle(ctx);
      sim.finishTerminating();
      await settle(ctx);
      const ready = livePods(ctx).filter((p) =>
        p.status.conditions?.some((c: { status: string }) => c.status === 'True'),
      );
      expect(ready.length).toBeGreaterThanOrEqual(4);
      sim.makeReady();
      await settle(ctx);
    }
    expect(pending).toEqual([]);
    expect(livePods(ctx).some((p) => originals.includes(p.metadata.name!))).toBe(false);
    expect(ctx.violations).toEqual([]);
  });

  it('warns about unmanaged pods once, not on every sync', async () => {
    createPdb({ maxUnavailable: 1 });
    ctx.store.create(R.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stray', namespace: 'default', labels: { app: 'web' } },
      spec: { nodeName: 'n1' },
    });
    await converge();
    sim.setReady(ctx.store.get(R.pods, 'default', 'stray')!, false);
    await converge();
    const warnings = eventsFor(ctx, 'web-pdb').filter((e) => e.reason === 'UnmanagedPods');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.type).toBe('Warning');
  });
});
