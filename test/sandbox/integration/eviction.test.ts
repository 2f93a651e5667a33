import {
  CoreV1Api,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSandbox, startSandbox } from '../../e2e/sandbox-harness.ts';
import { apiError, eventually, evictionOf, isPodReady, scenarioFromYaml } from './integration-helpers.ts';

const BUDGETS = scenarioFromYaml(`
name: budgets
kubernetesVersion: v1.31.2
prebindPods: true
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 3, capacity: { cpu: "8", memory: 32Gi } }
# Slow enough starts that a replacement cannot be Ready between two evictions sent back to back, and a
# long grace so that a stalled test machine never sees nodes miss their heartbeats.
timing: { podStartSeconds: 10, podReadySeconds: 10, podStopSeconds: 1, nodeMonitorGraceSeconds: 600 }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 3, pdb: { maxUnavailable: 1 } }
  - { name: pct-max, namespace: app, kind: Deployment, replicas: 5, pdb: { maxUnavailable: "30%" } }
  - { name: pct-min, namespace: app, kind: Deployment, replicas: 5, pdb: { minAvailable: "30%" } }
  - { name: strict, namespace: app, kind: Deployment, replicas: 2, pdb: { minAvailable: 2 } }
  - { name: shared, namespace: app, kind: Deployment, replicas: 2, pdb: { maxUnavailable: 1 } }
objects:
  - apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: { name: shared-extra, namespace: app }
    spec: { minAvailable: 1, selector: { matchLabels: { app: shared } } }
`);

let sandbox: RunningSandbox;
let core: CoreV1Api;
let policy: PolicyV1Api;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: BUDGETS, timeScale: 20 });
  core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
  policy = sandbox.kubeConfig().makeApiClient(PolicyV1Api);
  await eventually(async () => (await budget('web-pdb')).status?.disruptionsAllowed === 1, 'web-pdb synced');
});
afterAll(() => sandbox?.stop());

function budget(name: string): Promise<V1PodDisruptionBudget> {
  return policy.readNamespacedPodDisruptionBudget({ namespace: 'app', name });
}

async function podsOf(app: string) {
  return (await core.listNamespacedPod({ namespace: 'app', labelSelector: `app=${app}` })).items;
}

function setUnschedulable(node: string, unschedulable: boolean) {
  return core.patchNode(
    { name: node, body: { spec: { unschedulable: unschedulable ? true : null } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}

describe('eviction through HTTP on real workloads', () => {
  it('allows evictions until the budget is spent, answers 429, then allows them again once the replacement is Ready elsewhere', async () => {
    const originalPods = await podsOf('web');
    const originals = new Set(originalPods.map((p) => p.metadata!.name!));
    const [first, second] = originalPods;
    const node = first!.spec!.nodeName!;
    await setUnschedulable(node, true);
    try {
      await core.createNamespacedPodEviction(evictionOf('app', first!.metadata!.name!));

      const refused = await apiError(
        core.createNamespacedPodEviction(evictionOf('app', second!.metadata!.name!)),
      );
      expect(refused.code).toBe(429);
      // Note: whether the budget's status already counts the evicted pod out depends on when its controller
      // last ran, so the healthy count in the message may be 2 or 3; everything else is fixed.
      expect(JSON.parse(refused.body)).toEqual({
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
              message: expect.stringMatching(
                /^The disruption budget web-pdb needs 2 healthy pods and has [23] currently$/,
              ),
            },
          ],
        },
        code: 429,
      });

      const replacement = await eventually(async () => {
        const pods = await podsOf('web');
        const fresh = pods.find((p) => !originals.has(p.metadata!.name!));
        return pods.length === 3 && pods.every(isPodReady) ? fresh : undefined;
      }, 'the evicted pod replaced by a Ready one');
      expect(replacement.spec!.nodeName).not.toBe(node);
      await eventually(
        async () => (await budget('web-pdb')).status?.disruptionsAllowed === 1,
        'web-pdb allows one disruption again',
      );

      await core.createNamespacedPodEviction(evictionOf('app', second!.metadata!.name!));
    } finally {
      await setUnschedulable(node, false);
    }
    const violations = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
    expect(violations.items).toEqual([]);
  });

  it('answers 429 with the exact body when a budget allows no disruption at all', async () => {
    const [pod] = await podsOf('strict');
    const refused = await apiError(core.createNamespacedPodEviction(evictionOf('app', pod!.metadata!.name!)));
    expect(refused.code).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({
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
            message: 'The disruption budget strict-pdb needs 2 healthy pods and has 2 currently',
          },
        ],
      },
      code: 429,
    });
  });

  it('answers 500 with the exact message when two budgets select the pod', async () => {
    const [pod] = await podsOf('shared');
    const err = await apiError(core.createNamespacedPodEviction(evictionOf('app', pod!.metadata!.name!)));
    expect(err.code).toBe(500);
    expect(JSON.parse(err.body)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      code: 500,
    });
    const untouched = await core.readNamespacedPod({ namespace: 'app', name: pod!.metadata!.name! });
    expect(untouched.metadata?.deletionTimestamp).toBeUndefined();
    expect(untouched.status?.conditions?.map((c) => c.type)).not.toContain('DisruptionTarget');
  });

  it('records a plain DELETE that breaks a budget as a violation', async () => {
    const before = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
    const [pod] = await podsOf('strict');
    await core.deleteNamespacedPod({ namespace: 'app', name: pod!.metadata!.name! });
    const after = await sandbox.admin<{ items: Record<string, unknown>[] }>('/sandbox/v1/violations');
    expect(after.items.slice(before.items.length)).toEqual([
      expect.objectContaining({
        namespace: 'app',
        pdb: 'strict-pdb',
        pod: pod!.metadata!.name,
        cause: 'delete',
        healthyAfter: 1,
        desiredHealthy: 2,
      }),
    ]);
  });
});

describe('PDB status arithmetic over HTTP (reference §2)', () => {
  // Note: percentages round up against the controller's scale: maxUnavailable 30% of 5 is ceil(1.5) = 2,
  // so 3 must stay healthy; minAvailable 30% of 7 is ceil(2.1) = 3.
  it.each([
    ['pct-max', 5, { expectedPods: 5, desiredHealthy: 3, currentHealthy: 5, disruptionsAllowed: 2 }],
    ['pct-min', 5, { expectedPods: 5, desiredHealthy: 2, currentHealthy: 5, disruptionsAllowed: 3 }],
    ['pct-max', 7, { expectedPods: 7, desiredHealthy: 4, currentHealthy: 7, disruptionsAllowed: 3 }],
    ['pct-min', 7, { expectedPods: 7, desiredHealthy: 3, currentHealthy: 7, disruptionsAllowed: 4 }],
  ])('%s at %i replicas', async (app, replicas, expected) => {
    const scale = await sandbox.kubectl('scale', 'deployment', app, '-n', 'app', `--replicas=${replicas}`);
    expect(scale.code, scale.stderr).toBe(0);
    const status = await eventually(async () => {
      const s = (await budget(`${app}-pdb`)).status;
      return s?.currentHealthy === replicas && s.expectedPods === replicas ? s : undefined;
    }, `${app}-pdb at ${replicas} replicas`);
    expect(status).toMatchObject(expected);
    expect(status.conditions?.find((c) => c.type === 'DisruptionAllowed')).toMatchObject({
      status: 'True',
      reason: 'SufficientPods',
    });

    const table = await sandbox.kubectl('get', 'pdb', `${app}-pdb`, '-n', 'app', '--no-headers');
    const [name, minAvailable, maxUnavailable, allowed] = table.stdout.trim().split(/\s+/);
    expect([name, minAvailable, maxUnavailable, allowed]).toEqual([
      `${app}-pdb`,
      app === 'pct-min' ? '30%' : 'N/A',
      app === 'pct-max' ? '30%' : 'N/A',
      String(expected.disruptionsAllowed),
    ]);
  });
});
