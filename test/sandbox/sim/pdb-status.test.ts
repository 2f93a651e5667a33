import { describe, expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import { computePdbStatus, type WorkloadLookup } from '../../../src/sandbox/sim/disruption/pdb-status.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function workload(kind: string, name: string, replicas: number, owner?: KubeObject): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: {
      name,
      namespace: 'app',
      uid: `uid-${name}`,
      ownerReferences: owner
        ? [
            {
              apiVersion: 'apps/v1',
              kind: owner.kind!,
              name: owner.metadata.name!,
              uid: owner.metadata.uid!,
              controller: true,
            },
          ]
        : undefined,
    },
    spec: { replicas },
  };
}

interface PodOptions {
  ready?: boolean;
  owner?: KubeObject;
  terminating?: boolean;
  labels?: Record<string, string>;
}

function pod(
  name: string,
  { ready = true, owner, terminating, labels = { app: 'web' } }: PodOptions = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'app',
      labels,
      ownerReferences: owner
        ? [
            {
              apiVersion: 'apps/v1',
              kind: owner.kind!,
              name: owner.metadata.name!,
              uid: owner.metadata.uid!,
              controller: true,
            },
          ]
        : undefined,
      ...(terminating ? { deletionTimestamp: iso(NOW + 30_000) } : {}),
    },
    spec: {},
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

function pdb(spec: Record<string, unknown>, status?: Record<string, unknown>, generation = 1): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web-pdb', namespace: 'app', generation, uid: 'uid-pdb' },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
    status,
  };
}

function lookupOf(...objects: KubeObject[]): WorkloadLookup {
  const resourceOf: Record<string, string> = {
    ReplicaSet: R.replicasets,
    Deployment: R.deployments,
    StatefulSet: R.statefulsets,
  };
  return (resource, namespace, name) =>
    objects.find(
      (o) =>
        resourceOf[o.kind!] === resource && o.metadata.namespace === namespace && o.metadata.name === name,
    );
}

function replicated(count: number, healthy: number, owner: KubeObject): KubeObject[] {
  return Array.from({ length: count }, (_, i) => pod(`web-${i}`, { owner, ready: i < healthy }));
}

const rs3 = workload('ReplicaSet', 'web-rs', 3);
const rs10 = workload('ReplicaSet', 'web-rs', 10);
const deploy5 = workload('Deployment', 'web', 5);
const rsOfDeploy = workload('ReplicaSet', 'web-abc', 2, deploy5);
const sts4 = workload('StatefulSet', 'db', 4);

describe('computePdbStatus', () => {
  it.each([
    {
      what: 'maxUnavailable 50% of 3 rounds up: desiredHealthy 1',
      spec: { maxUnavailable: '50%' },
      pods: replicated(3, 3, rs3),
      lookup: lookupOf(rs3),
      expected: { disruptionsAllowed: 2, currentHealthy: 3, desiredHealthy: 1, expectedPods: 3 },
    },
    {
      what: 'minAvailable 50% of 3 rounds up: desiredHealthy 2',
      spec: { minAvailable: '50%' },
      pods: replicated(3, 3, rs3),
      lookup: lookupOf(rs3),
      expected: { disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 },
    },
    {
      what: 'minAvailable 20% of 10 with 1 healthy (TestReplicaSet)',
      spec: { minAvailable: '20%' },
      pods: replicated(1, 1, rs10),
      lookup: lookupOf(rs10),
      expected: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 2, expectedPods: 10 },
    },
    {
      what: 'minAvailable as an integer counts the selected pods as expected',
      spec: { minAvailable: 2 },
      pods: replicated(4, 3, rs10),
      lookup: lookupOf(rs10),
      expected: { disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 4 },
    },
    {
      what: 'maxUnavailable as an integer against the Deployment (not the ReplicaSet) scale',
      spec: { maxUnavailable: 1 },
      pods: replicated(2, 2, rsOfDeploy),
      lookup: lookupOf(rsOfDeploy, deploy5),
      expected: { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 4, expectedPods: 5 },
    },
    {
      what: 'StatefulSet scale, terminating pods are not healthy',
      spec: { maxUnavailable: 1 },
      pods: [
        pod('db-0', { owner: sts4 }),
        pod('db-1', { owner: sts4 }),
        pod('db-2', { owner: sts4 }),
        pod('db-3', { owner: sts4, terminating: true }),
      ],
      lookup: lookupOf(sts4),
      expected: { disruptionsAllowed: 0, currentHealthy: 3, desiredHealthy: 3, expectedPods: 4 },
    },
    {
      what: 'pods the selector does not match are ignored',
      spec: { minAvailable: 1 },
      pods: [pod('a'), pod('b', { labels: { app: 'other' } })],
      lookup: lookupOf(),
      expected: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 },
    },
    {
      what: 'no pods at all: nothing expected, nothing allowed',
      spec: { minAvailable: 0 },
      pods: [],
      lookup: lookupOf(),
      expected: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
    },
  ])('$what', ({ spec, pods, lookup, expected }) => {
    const { status, syncError } = computePdbStatus(pdb(spec), pods, lookup, NOW);
    expect(syncError).toBeUndefined();
    expect(status).toMatchObject({ ...expected, observedGeneration: 1 });
    expect(status.conditions).toEqual([
      {
        type: 'DisruptionAllowed',
        status: expected.disruptionsAllowed > 0 ? 'True' : 'False',
        observedGeneration: 1,
        lastTransitionTime: iso(NOW),
        reason: expected.disruptionsAllowed > 0 ? 'SufficientPods' : 'InsufficientPods',
        message: '',
      },
    ]);
  });

  it.each([
    {
      what: 'a pod whose controller is missing',
      pods: [pod('web-0', { owner: rs3 })],
      lookup: lookupOf(),
      error: 'found no controllers for pod "web-0"',
    },
    {
      what: 'a pod owned by a kind without a scale (DaemonSet)',
      pods: [pod('agent-x', { owner: workload('DaemonSet', 'agent', 0) })],
      lookup: lookupOf(),
      error: 'found no controllers for pod "agent-x"',
    },
  ])('fails safe on $what', ({ pods, lookup, error }) => {
    const previous = {
      observedGeneration: 1,
      disruptionsAllowed: 2,
      currentHealthy: 3,
      desiredHealthy: 1,
      expectedPods: 3,
    };
    const { status, syncError } = computePdbStatus(
      pdb({ maxUnavailable: 1 }, previous, 2),
      pods,
      lookup,
      NOW,
    );
    expect(syncError).toBe(error);
    // observedGeneration stays behind the generation, as upstream's failSafe leaves it.
    expect(status).toMatchObject({ ...previous, disruptionsAllowed: 0 });
    expect(status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'SyncFailed', message: error });
  });

  it('fails safe on an invalid selector', () => {
    const bad = pdb({ minAvailable: 1, selector: { matchExpressions: [{ key: 'app', operator: 'Like' }] } });
    const { syncError, status } = computePdbStatus(bad, [pod('a')], lookupOf(), NOW);
    expect(syncError).toMatch(/not a valid label selector operator/);
    expect(status.disruptionsAllowed).toBe(0);
  });

  it('skips unmanaged pods in the expected count and warns with UnmanagedPods', () => {
    const pods = [...replicated(3, 3, rs3), pod('stray')];
    const { status, events } = computePdbStatus(pdb({ maxUnavailable: 1 }), pods, lookupOf(rs3), NOW);
    expect(status).toMatchObject({
      expectedPods: 3,
      currentHealthy: 4,
      desiredHealthy: 2,
      disruptionsAllowed: 2,
    });
    expect(events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'UnmanagedPods' }));
  });

  it('keeps a fresh disruptedPods entry out of the healthy count and schedules a recheck at its expiry', () => {
    const evictedAt = NOW - 30_000;
    const previous = { disruptedPods: { 'web-0': iso(evictedAt) } };
    const result = computePdbStatus(
      pdb({ maxUnavailable: 1 }, previous),
      replicated(3, 3, rs3),
      lookupOf(rs3),
      NOW,
    );
    expect(result.status).toMatchObject({
      currentHealthy: 2,
      disruptionsAllowed: 0,
      disruptedPods: { 'web-0': iso(evictedAt) },
    });
    expect(result.recheckAt).toBe(evictedAt + 120_000);
  });

  it.each([
    { what: 'older than two minutes', at: NOW - 121_000, terminating: false, warns: true },
    { what: 'of a pod now terminating', at: NOW - 1_000, terminating: true, warns: false },
  ])('drops a disruptedPods entry $what', ({ at, terminating, warns }) => {
    const pods = [
      pod('web-0', { owner: rs3, terminating }),
      pod('web-1', { owner: rs3 }),
      pod('web-2', { owner: rs3 }),
    ];
    const previous = { disruptedPods: { 'web-0': iso(at) } };
    const result = computePdbStatus(pdb({ maxUnavailable: 1 }, previous), pods, lookupOf(rs3), NOW);
    expect(result.status.disruptedPods).toBeUndefined();
    expect(result.status.currentHealthy).toBe(terminating ? 2 : 3);
    expect(result.events.some((e) => e.reason === 'NotDeleted')).toBe(warns);
  });

  it('keeps the condition transition time while its status holds', () => {
    const earlier = iso(NOW - 60_000);
    const previous = {
      conditions: [
        {
          type: 'DisruptionAllowed',
          status: 'True',
          lastTransitionTime: earlier,
          reason: 'SufficientPods',
          message: '',
        },
      ],
    };
    const { status } = computePdbStatus(
      pdb({ maxUnavailable: 1 }, previous),
      replicated(3, 3, rs3),
      lookupOf(rs3),
      NOW,
    );
    expect(status.conditions?.[0]?.lastTransitionTime).toBe(earlier);
  });
});
