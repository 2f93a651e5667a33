/**
 * A budget's status from running counts (budget-tally.ts) is the status a full read of its candidate pods
 * gives (in the budget index's order, which names the pod of a failed sync), after
 * any sequence of pod and budget changes: pods created, deleted, made Ready or not, terminating, relabelled,
 * moved to another controller; budgets whose selector changes, that carry eviction entries, that go and
 * come back; workloads scaled.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/core/index.ts';
import { R } from '../../../src/sandbox/api/resources.ts';
import { seededRandom } from '../../../src/sandbox/create-context.ts';
import { budgetIndex } from '../../../src/sandbox/sim/disruption/budget-index.ts';
import { budgetStatus } from '../../../src/sandbox/sim/disruption/budget-tally.ts';
import { computePdbStatus } from '../../../src/sandbox/sim/disruption/pdb-status.ts';
import { ObjectStore } from '../../../src/sandbox/store/object-store.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';

const NS = 'shop';

const SELECTORS: Array<Record<string, unknown> | undefined> = [
  { matchLabels: { app: 'web' } },
  { matchLabels: { app: 'web', tier: 'front' } },
  { matchExpressions: [{ key: 'app', operator: 'In', values: ['api'] }] },
  { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
  { matchExpressions: [{ key: 'app', operator: 'Bogus', values: ['web'] }] },
  {},
  undefined,
];
const BOUNDS = [
  { maxUnavailable: 1 },
  { maxUnavailable: '25%' },
  { minAvailable: 2 },
  { minAvailable: '50%' },
];
const LABELS: Array<Record<string, string>> = [
  { app: 'web', tier: 'front' },
  { app: 'web' },
  { app: 'api', tier: 'back' },
  { app: 'api' },
  {},
];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

function workload(kind: string, name: string, replicas: number, owner?: KubeObject): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: {
      name,
      namespace: NS,
      ...(owner ? { ownerReferences: [controllerRef(owner)] } : {}),
    },
    spec: { replicas },
  };
}

function controllerRef(owner: KubeObject) {
  return {
    apiVersion: 'apps/v1',
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
  };
}

describe('budgetStatus', () => {
  it.each([1, 2, 3, 4, 5])('matches a full read of the pods after random changes (seed %i)', async (seed) => {
    // Note: seeded, so a failure replays.
    const next = seededRandom(seed);
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const store = new ObjectStore(clock);
    const deployment = store.create(R.deployments, workload('Deployment', 'web', 6));
    const owners = [
      store.create(R.replicasets, workload('ReplicaSet', 'web-1', 4, deployment)),
      store.create(R.replicasets, workload('ReplicaSet', 'api-1', 3)),
      store.create(R.statefulsets, workload('StatefulSet', 'db', 3)),
      // A controller the budgets cannot scale by: its pods make the status fail safe.
      { kind: 'DaemonSet', metadata: { name: 'agent', uid: 'uid-agent' } } as KubeObject,
      undefined,
    ];
    const budgets = ['a', 'b', 'c', 'd'];
    for (const name of budgets) {
      store.create(R.pdbs, {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name, namespace: NS },
        spec: { selector: pick(next, SELECTORS), ...pick(next, BOUNDS) },
      });
    }
    const lookup = (resource: string, namespace: string, name: string) =>
      store.get(resource, namespace, name);
    let pods = 0;

    const changes: Array<() => void> = [
      () => {
        const owner = pick(next, owners);
        store.create(R.pods, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `pod-${pods++}`,
            namespace: next() < 0.9 ? NS : 'other',
            labels: pick(next, LABELS),
            ...(owner ? { ownerReferences: [controllerRef(owner)] } : {}),
          },
          spec: {},
          status: {
            phase: 'Running',
            conditions: [{ type: 'Ready', status: next() < 0.7 ? 'True' : 'False' }],
          },
        });
      },
      () => withPod((pod) => store.remove(R.pods, pod.metadata.namespace, pod.metadata.name!)),
      () =>
        withPod((pod) =>
          store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name!, (draft) => {
            draft.status.conditions = [{ type: 'Ready', status: next() < 0.5 ? 'True' : 'False' }];
          }),
        ),
      () =>
        withPod((pod) =>
          store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name!, (draft) => {
            draft.metadata.deletionTimestamp = '2026-01-01T00:00:30Z';
          }),
        ),
      () =>
        withPod((pod) =>
          store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name!, (draft) => {
            draft.metadata.labels = pick(next, LABELS);
          }),
        ),
      () =>
        withPod((pod) =>
          store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name!, (draft) => {
            const owner = pick(next, owners);
            draft.metadata.ownerReferences = owner ? [controllerRef(owner)] : undefined;
          }),
        ),
      // A write that moves no count (the pod's IP).
      () =>
        withPod((pod) =>
          store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name!, (draft) => {
            draft.status.podIP = `10.0.0.${pods}`;
          }),
        ),
      () =>
        store.mutate(R.pdbs, NS, pick(next, budgets), (draft) => {
          draft.spec.selector = pick(next, SELECTORS);
        }),
      // Evictions' entries, for pods the budget may or may not select, some of them expired (2 min).
      () =>
        store.mutate(R.pdbs, NS, pick(next, budgets), (draft) => {
          const disruptedPods: Record<string, string> = {};
          for (let i = Math.floor(next() * 4); i > 0; i--) {
            const at = new Date(clock.now() - Math.floor(next() * 200) * 1000);
            disruptedPods[`pod-${Math.floor(next() * pods)}`] = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
          }
          draft.status = { ...draft.status, disruptedPods };
        }),
      () =>
        store.mutate(R.pdbs, NS, pick(next, budgets), (draft) => {
          draft.status = { ...draft.status, disruptedPods: undefined, currentHealthy: pods };
        }),
      () => {
        const name = pick(next, budgets);
        const budget = store.get(R.pdbs, NS, name)!;
        store.remove(R.pdbs, NS, name);
        store.create(R.pdbs, { ...budget, metadata: { name, namespace: NS } });
      },
      () =>
        store.mutate(R.replicasets, NS, 'web-1', (draft) => {
          draft.spec.replicas = Math.floor(next() * 8);
        }),
    ];
    function withPod(change: (pod: KubeObject) => void): void {
      const all = store.list(R.pods);
      if (all.length > 0) change(pick(next, all));
    }

    for (let step = 0; step < 400; step++) {
      pick(next, changes)();
      await clock.advance(1_000);
      for (const name of budgets) {
        const pdb = store.get(R.pdbs, NS, name)!;
        const now = clock.now();
        expect(budgetStatus(store, pdb, now), `budget ${name} after step ${step}`).toEqual(
          computePdbStatus(pdb, budgetIndex(store).candidatePods(pdb), lookup, now),
        );
      }
    }
  });
});
