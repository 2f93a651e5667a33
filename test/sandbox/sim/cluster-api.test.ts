/**
 * The sandbox serves Cluster API's MachineDeployment, MachineSet and Machine as custom resources, with a
 * simulated controller behind them (issue 14): a pool declared `machineDeployment:` comes with one Running
 * Machine per node; scaling the MachineDeployment up provisions a node through the sandbox's cloud (its
 * faults apply) and records it in `status.nodeRef`; scaling down removes the Machine annotated
 * `cluster.x-k8s.io/delete-machine`, and its Node. All over HTTP, on a virtual clock.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/core/clock.ts';
import { advanceWhenIdle } from '../../../src/sandbox/idle-time.ts';
import { parseScenario } from '../../../src/sandbox/scenario/parse-scenario.ts';
import { type RunningSandbox, startSandbox } from '../../e2e/sandbox-harness.ts';

const SCENARIO = `
name: capi-lab
kubernetesVersion: v1.31.2
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 2, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi }, machineDeployment: capi/workers }
timing: { nodeBootSeconds: 30, nodeHeartbeatSeconds: 5 }
`;

const GROUP = { group: 'cluster.x-k8s.io', version: 'v1beta1', namespace: 'capi' };
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Machine {
  metadata: { name: string; annotations?: Record<string, string>; labels: Record<string, string> };
  spec: { version: string; providerID?: string };
  status?: { phase?: string; nodeRef?: { name: string }; failureMessage?: string };
}

describe('sandbox: Cluster API resources', () => {
  let sandbox: RunningSandbox;
  let clock: VirtualClock;
  let stopClock: () => Promise<void>;
  let api: CustomObjectsApi;

  beforeEach(async () => {
    clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
    const driver = advanceWhenIdle(clock);
    stopClock = () => driver.stop();
    sandbox = await startSandbox({ scenario: parseScenario(SCENARIO, 'capi-lab.yaml'), clock });
    api = sandbox.kubeConfig().makeApiClient(CustomObjectsApi);
  });
  afterEach(async () => {
    await stopClock();
    await sandbox.stop();
  });

  const machines = async (): Promise<Machine[]> =>
    ((await api.listNamespacedCustomObject({ ...GROUP, plural: 'machines' })) as { items: Machine[] }).items;
  const nodeNames = async () =>
    (await sandbox.kubectl('get', 'nodes', '-o', 'name')).stdout.trim().split('\n').sort();
  const scaleTo = (replicas: number) =>
    api.patchNamespacedCustomObjectScale(
      { ...GROUP, plural: 'machinedeployments', name: 'workers', body: { spec: { replicas } } },
      MERGE,
    );
  async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    const deadline = clock.now() + 600_000;
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      if (clock.now() > deadline) throw new Error(`${what}: ${JSON.stringify(v)}`);
      await clock.sleep(1000);
    }
  }

  it('serves the pool as a MachineDeployment whose Machines point at its nodes, and refuses strategic merge', async () => {
    const { stdout } = await sandbox.kubectl('get', 'md', '-n', 'capi', 'workers', '-o', 'json');
    const md = JSON.parse(stdout);
    expect(md.spec).toMatchObject({ replicas: 2, template: { spec: { version: 'v1.30.6' } } });
    const ms = await until(
      'MachineDeployment status',
      async () =>
        (await api.getNamespacedCustomObject({
          ...GROUP,
          plural: 'machinedeployments',
          name: 'workers',
        })) as {
          status?: { readyReplicas?: number };
        },
      (m) => m.status?.readyReplicas === 2,
    );
    expect(ms.status).toMatchObject({ replicas: 2, readyReplicas: 2, phase: 'Running' });
    expect((await machines()).map((m) => [m.status?.phase, m.status?.nodeRef?.name]).sort()).toEqual([
      ['Running', 'general-1'],
      ['Running', 'general-2'],
    ]);
    // kubectl's table has Cluster API's own printer columns.
    const table = (await sandbox.kubectl('get', 'md,machines', '-n', 'capi')).stdout;
    expect(table).toMatch(
      /NAME\s+CLUSTER\s+DESIRED\s+REPLICAS\s+READY\s+UPDATED\s+UNAVAILABLE\s+PHASE\s+AGE\s+VERSION/,
    );
    expect(table).toMatch(/workers\s+capi-lab\s+2\s+2\s+2\s+2\s+0\s+Running\s+\S+\s+v1\.30\.6/);
    expect(table).toMatch(/capi-lab\s+general-1\s+sandbox:\/\/\/general-1\s+Running/);
    const strategic = await sandbox.request(
      'PATCH',
      '/apis/cluster.x-k8s.io/v1beta1/namespaces/capi/machinedeployments/workers',
      {
        body: { spec: { replicas: 3 } },
        headers: { 'Content-Type': 'application/strategic-merge-patch+json' },
      },
    );
    expect(strategic.status).toBe(415);
  });

  it('scales up through the sandbox’s cloud and down by the delete-machine annotation', async () => {
    await scaleTo(3);
    const grown = await until(
      'a third Running Machine',
      machines,
      (ms) => ms.length === 3 && ms.every((m) => m.status?.phase === 'Running'),
    );
    const added = grown.find((m) => !['general-1', 'general-2'].includes(m.status?.nodeRef?.name ?? ''))!;
    expect(added.status?.nodeRef?.name).toBe('general-3');
    expect(added.spec.version).toBe('v1.30.6');
    expect(await nodeNames()).toContain('node/general-3');

    const doomed = grown.find((m) => m.status?.nodeRef?.name === 'general-1')!;
    await api.patchNamespacedCustomObject(
      {
        ...GROUP,
        plural: 'machines',
        name: doomed.metadata.name,
        body: { metadata: { annotations: { 'cluster.x-k8s.io/delete-machine': 'yes' } } },
      },
      MERGE,
    );
    await scaleTo(2);
    const left = await until('general-1 gone', machines, (ms) => ms.length === 2);
    expect(left.map((m) => m.status?.nodeRef?.name).sort()).toEqual(['general-2', 'general-3']);
    await until('Node general-1 deleted', nodeNames, (n) => !n.includes('node/general-1'));
  });

  // Note: patched as soon as the sandbox answers, before its controllers first wrote the MachineSets'
  // status: a rollout that trusted a status not yet written removed every old Machine at once.
  it('rolls a MachineDeployment to a new version within maxSurge 1, maxUnavailable 0', async () => {
    await api.patchNamespacedCustomObject(
      {
        ...GROUP,
        plural: 'machinedeployments',
        name: 'workers',
        body: { spec: { template: { spec: { version: 'v1.31.2' } } } },
      },
      MERGE,
    );
    let most = 0;
    let fewestRunning = 2;
    const rolled = await until('every Machine at v1.31.2', machines, (ms) => {
      most = Math.max(most, ms.length);
      fewestRunning = Math.min(fewestRunning, ms.filter((m) => m.status?.phase === 'Running').length);
      return (
        ms.length === 2 && ms.every((m) => m.spec.version === 'v1.31.2' && m.status?.phase === 'Running')
      );
    });
    expect(most).toBeLessThanOrEqual(3);
    expect(fewestRunning).toBe(2);
    expect(rolled.map((m) => m.status?.nodeRef?.name).sort()).toEqual(['general-3', 'general-4']);
    const sets = (await api.listNamespacedCustomObject({ ...GROUP, plural: 'machinesets' })) as {
      items: Array<{ spec: { replicas: number; template: { spec: { version: string } } } }>;
    };
    expect(sets.items.map((ms) => [ms.spec.template.spec.version, ms.spec.replicas])).toEqual([
      ['v1.30.6', 0],
      ['v1.31.2', 2],
    ]);
  });

  it('fails a Machine the pool quota refuses, with the reason', async () => {
    await sandbox.request('PATCH', '/sandbox/v1/faults', { body: { poolQuota: { general: 2 } } });
    await scaleTo(3);
    const failed = await until('a Failed Machine', machines, (ms) =>
      ms.some((m) => m.status?.phase === 'Failed'),
    );
    expect(failed.find((m) => m.status?.phase === 'Failed')?.status?.failureMessage).toContain(
      'quota exceeded: pool general holds 2 node(s) and its quota is 2',
    );
  });
});
