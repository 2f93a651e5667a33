/**
 * The `cluster-api` node provider end to end on the sandbox (issue 14), over HTTP on a virtual clock: the
 * pool's nodes are Machines of a MachineDeployment; surge and blue-green create their new nodes by scaling a
 * clone of it at the target version, and remove each drained old node by annotating its Machine
 * `cluster.x-k8s.io/delete-machine` and lowering the old MachineDeployment's replicas. No budget is broken,
 * nothing is left behind; a quota, a node that never joins and a missing MachineDeployment stop the run with
 * a clear reason, and a resume finishes once the cause is gone.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import {
  type EngineDeps,
  type RunEvent,
  requestPause,
  resumeRun,
  rollbackRun,
  startRun,
} from '../../src/engine/index.ts';
import { advanceWhenIdle } from '../../src/sandbox/idle-time.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import type { RunStoreOptions } from '../../src/store/index.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import {
  CrashError,
  crashAt,
  FAST,
  type Harness,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
} from './engine-harness.ts';
import {
  machines as cloudMachines,
  DyingNodeProvider,
  deletions,
  SURGE_CLUSTER,
  surgePolicy,
  type WitnessNodeProvider,
  witnessProvider,
} from './surge-harness.ts';

const TARGET = 'v1.31.2';
const OLD = ['general-1', 'general-2', 'general-3'];
const CAPI_CLUSTER = SURGE_CLUSTER.replace(
  '{ name: general, count: 3,',
  '{ name: general, count: 3, machineDeployment: capi/workers,',
);
const CAPI = { kind: 'cluster-api', namespace: 'capi', machineDeployment: 'workers', joinTimeout: '2m' };
const BLUE_GREEN = {
  canary: { nodes: 0 },
  timings: { waveSoak: '2s' },
  pools: [{ name: 'general', strategy: 'blue-green', maxUnavailable: 1, waveSize: 2, finalSoak: '20s' }],
  nodeProvider: CAPI,
};
const GROUP = { group: 'cluster.x-k8s.io', version: 'v1beta1', namespace: 'capi' };

interface Capi {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { replicas?: number; template?: { spec?: { version?: string } } };
  status?: { phase?: string; nodeRef?: { name: string } };
}

describe('nodeProvider cluster-api', () => {
  let sandbox: RunningSandbox;
  let clock: VirtualClock;
  let stopClock: () => Promise<void>;
  let h: Harness;
  let deps: EngineDeps;
  /** Store writes fail (the process "died") while this says so. */
  let crash: RunStoreOptions['beforeWrite'];

  beforeEach(async () => {
    clock = new VirtualClock(Date.parse('2026-03-01T00:00:00Z'));
    const driver = advanceWhenIdle(clock);
    stopClock = () => driver.stop();
    sandbox = await startSandbox({ scenario: parseScenario(CAPI_CLUSTER, 'capi.yaml'), clock });
    crash = undefined;
    h = harness(sandbox, new SandboxApiProvider(sandbox), { beforeWrite: (n) => crash?.(n) });
    deps = { ...h.deps, clock };
  });
  afterEach(async () => {
    h.cleanup();
    await stopClock();
    await sandbox.stop();
  });

  const api = () => sandbox.kubeConfig().makeApiClient(CustomObjectsApi);
  const list = async (plural: string) =>
    ((await api().listNamespacedCustomObject({ ...GROUP, plural })) as { items: Capi[] }).items;
  const deployments = async () =>
    Object.fromEntries(
      (await list('machinedeployments')).map((d) => [
        d.metadata.name,
        [d.spec.replicas, d.spec.template?.spec?.version],
      ]),
    );
  const faults = (body: unknown) => sandbox.request('PATCH', '/sandbox/v1/faults', { body });

  async function run(policy: Record<string, unknown>): Promise<{
    witness: WitnessNodeProvider;
    summary: Awaited<ReturnType<typeof startRun>>;
  }> {
    const plan = await planFor(sandbox, TARGET, surgePolicy(policy));
    const witness = witnessProvider(sandbox, plan);
    const summary = await startRun({ ...deps, nodeProvider: witness }, plan, FAST);
    return { witness, summary };
  }

  /**
   * The pool after the run: three Ready nodes at the target, each the nodeRef of a Running Machine of
   * workers-v1-31-2 (3 replicas), the old MachineDeployment at 0 with no Machine left, no budget broken.
   */
  async function expectMovedToClone(runId: string) {
    const pool = (await nodes(sandbox)).filter((n) => n.labels['midflight.dev/pool'] === 'general');
    expect(pool.map((n) => [n.version, n.ready, n.unschedulable])).toEqual(
      OLD.map(() => [TARGET, true, false]),
    );
    expect(pool.every((n) => n.labels['upgrade.midflight.dev/run-id'] === runId)).toBe(true);
    expect(await deployments()).toEqual({ workers: [0, 'v1.30.6'], 'workers-v1-31-2': [3, TARGET] });
    const machines = await list('machines');
    expect(
      machines.map((m) => [m.metadata.labels?.['cluster.x-k8s.io/deployment-name'], m.status?.phase]),
    ).toEqual(OLD.map(() => ['workers-v1-31-2', 'Running']));
    expect(machines.map((m) => m.status?.nodeRef?.name).sort()).toEqual(pool.map((n) => n.name).sort());
    // The sandbox's cloud holds exactly these (none orphaned), and deleted none with workload pods on it.
    expect((await cloudMachines(sandbox)).map((m) => m.name).sort()).toEqual(pool.map((n) => n.name).sort());
    expect((await deletions(sandbox)).filter((d) => d.podsLeft.length > 0)).toEqual([]);
    const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
    expect(items).toEqual([]);
  }

  it('surge: each new node from a clone of the MachineDeployment at the target, each old Machine removed by delete-machine', async () => {
    const { witness, summary } = await run({ nodeProvider: CAPI });
    expect(summary.reason).toBeUndefined();
    expect(summary.state).toBe('succeeded');
    expect(summary.nodes.replaced?.map((r) => r.node).sort()).toEqual(OLD);
    expect(witness.creates).toBe(3);
    expect(witness.deletes.sort()).toEqual(OLD);
    expect(witness.podsAtDelete).toEqual([]);
    await expectMovedToClone(summary.runId);
    const clone = (await list('machinedeployments')).find((d) => d.metadata.name === 'workers-v1-31-2')!;
    expect(clone.metadata.annotations?.['upgrade.midflight.dev/cloned-from']).toBe('workers');
  });

  it('blue-green: the green pool is the clone scaled to the pool’s size; the blue Machines go after the final soak', async () => {
    const { witness, summary } = await run(BLUE_GREEN);
    expect(summary.reason).toBeUndefined();
    expect(summary.state).toBe('succeeded');
    expect(witness.creates).toBe(3);
    expect(witness.deletes.sort()).toEqual(OLD);
    expect(witness.podsAtDelete).toEqual([]);
    await expectMovedToClone(summary.runId);
  });

  it('stops at a pool quota with the Machine’s failure, withdraws the create, and finishes on resume', async () => {
    await faults({ poolQuota: { general: 3 } });
    const { witness, summary } = await run({ nodeProvider: CAPI });
    expect(summary.state).toBe('failed');
    expect(summary.reason).toMatch(
      /could not create a replacement for general-1 in pool general: Machine capi\/workers-v1-31-2-\w+-\w+ of MachineDeployment capi\/workers-v1-31-2 failed: CreateError: quota exceeded: pool general holds 3 node\(s\) and its quota is 3, so 1 more cannot be created; the create asked for it was withdrawn; general-1 is untouched/,
    );
    const old = (await nodes(sandbox)).filter((n) => OLD.includes(n.name));
    expect(old.map((n) => [n.name, n.version, n.ready, n.unschedulable])).toEqual(
      OLD.map((n) => [n, 'v1.30.6', true, false]),
    );
    await untilNoMachineOf('workers-v1-31-2');
    expect((await deployments())['workers-v1-31-2']).toEqual([0, TARGET]);

    await faults({ poolQuota: { general: 4 } });
    const resumed = await resumeRun({ ...deps, nodeProvider: witness }, summary.runId, FAST);
    expect(resumed.reason).toBeUndefined();
    expect(resumed.state).toBe('succeeded');
    await expectMovedToClone(summary.runId);
  });

  it('withdraws a Machine whose node never joins, stops with why, and replaces the node on resume', async () => {
    await faults({ nodesNeverJoin: { general: 1 } });
    const { witness, summary } = await run({ nodeProvider: { ...CAPI, joinTimeout: '30s' } });
    expect(summary.state).toBe('failed');
    expect(summary.reason).toContain(
      'the replacement for general-1 did not register and turn Ready at v1.31.2 within 30s (nodeProvider.joinTimeout); the create asked for it was withdrawn; general-1 is untouched',
    );
    await untilNoMachineOf('workers-v1-31-2');
    expect((await nodes(sandbox)).map((n) => n.name).sort()).toEqual(['cp-1', ...OLD]);

    const resumed = await resumeRun({ ...deps, nodeProvider: witness }, summary.runId, FAST);
    expect(resumed.reason).toBeUndefined();
    expect(resumed.state).toBe('succeeded');
    await expectMovedToClone(summary.runId);
  });

  it('stops before touching the pool when its MachineDeployment does not exist', async () => {
    const { summary } = await run({ nodeProvider: { ...CAPI, machineDeployment: 'wrokers' } });
    expect(summary.state).toBe('failed');
    expect(summary.reason).toContain(
      "the cluster-api node provider cannot serve pool general: MachineDeployment capi/wrokers of pool general was not found: name the pool's MachineDeployment in nodeProvider.machineDeployment",
    );
    expect((await nodes(sandbox)).filter((n) => n.unschedulable)).toEqual([]);
    expect(await deployments()).toEqual({ workers: [3, 'v1.30.6'] });
  });

  it('blue-green rolled back during the final soak: the green Machines removed, the blue MachineDeployment untouched', async () => {
    const plan = await planFor(
      sandbox,
      TARGET,
      surgePolicy({ ...BLUE_GREEN, pools: [{ ...BLUE_GREEN.pools[0], finalSoak: '10m' }] }),
    );
    const witness = witnessProvider(sandbox, plan);
    const paused = await startRun(
      {
        ...deps,
        nodeProvider: witness,
        onEvent: (e: RunEvent) => {
          if (e.type === 'log' && e.message.includes('is held for')) requestPause(deps.store, e.runId);
        },
      },
      plan,
      FAST,
    );
    expect(paused.state).toBe('paused');
    expect(await deployments()).toEqual({ workers: [3, 'v1.30.6'], 'workers-v1-31-2': [3, TARGET] });
    const summary = await rollbackRun({ ...deps, nodeProvider: witness }, paused.runId, FAST);
    expect(summary.state).toBe('rolled-back');
    const pool = (await nodes(sandbox)).filter((n) => n.labels['midflight.dev/pool'] === 'general');
    expect(pool.map((n) => [n.name, n.version, n.ready, n.unschedulable])).toEqual(
      OLD.map((n) => [n, 'v1.30.6', true, false]),
    );
    expect(await deployments()).toEqual({ workers: [3, 'v1.30.6'], 'workers-v1-31-2': [0, TARGET] });
    await untilNoMachineOf('workers-v1-31-2');
    expect(witness.podsAtDelete).toEqual([]);
    expect(await cloudMachines(sandbox)).toEqual([]);
    expect((await deletions(sandbox)).filter((d) => d.podsLeft.length > 0)).toEqual([]);
    const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
    expect(items).toEqual([]);
  });

  /**
   * Killed (every later store write fails) at a store write, or right after the provider's nth create or
   * delete returned (before the engine recorded it), then resumed: one scale-up per old node, none twice,
   * every old Machine removed once, the pool exactly in the clone.
   */
  it.each([
    ['surge, right after the first create', {}, { create: 1 }],
    ['surge, right after the second delete', {}, { delete: 2 }],
    ['blue-green, right after the second create', { blueGreen: true }, { create: 2 }],
    ['blue-green, at store write 60', { write: 60, blueGreen: true }, {}],
  ])(
    'killed %s: resumed to a clean finish',
    async (_what, at: { write?: number; blueGreen?: boolean }, dieAfter) => {
      const plan = await planFor(
        sandbox,
        TARGET,
        surgePolicy(at.blueGreen ? BLUE_GREEN : { nodeProvider: CAPI }),
      );
      const provider = new DyingNodeProvider(witnessProvider(sandbox, plan), sandbox, dieAfter);
      crash = (n) => {
        if (provider.dead) throw new CrashError(n);
        crashAt(at.write ?? Number.POSITIVE_INFINITY)?.(n);
      };
      await expect(startRun({ ...deps, nodeProvider: provider }, plan, FAST)).rejects.toBeInstanceOf(
        CrashError,
      );
      provider.dead = false;
      crash = undefined;
      const store = h.openStore();
      const [stopped] = store.listRuns();
      const summary = await resumeRun({ ...deps, store, nodeProvider: provider }, stopped!.id, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      expect(provider.creates).toBe(3);
      expect(provider.podsAtDelete).toEqual([]);
      await expectMovedToClone(stopped!.id);
    },
  );

  async function untilNoMachineOf(deployment: string) {
    const deadline = clock.now() + 120_000;
    const of = async () =>
      (await list('machines')).filter(
        (m) => m.metadata.labels?.['cluster.x-k8s.io/deployment-name'] === deployment,
      );
    while ((await of()).length > 0) {
      if (clock.now() > deadline)
        throw new Error(`Machines of ${deployment} left: ${JSON.stringify(await of())}`);
      await clock.sleep(1000);
    }
  }
});
