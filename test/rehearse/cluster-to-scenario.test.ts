/**
 * A copied cluster is the same cluster to the planner and the engine: the captured snapshots of the
 * built-in scenarios (test/fixtures/snapshots) are turned into scenarios, each copy is started in a sandbox,
 * read back over HTTP the way `plan` reads any cluster, and compared with the original: the same nodes, the
 * same pods of the same controllers on the same nodes, the same budgets allowing the same disruptions.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import {
  budgetStatesOf,
  type ClusterSnapshot,
  clusterModelOf,
  isMirrorPod,
  type Pod,
  parseVersion,
} from '../../src/core/index.ts';
import { readSnapshot } from '../../src/kube/snapshot.ts';
import { defaultPolicy, isNodeWave, planUpgrade } from '../../src/plan/index.ts';
import { clusterToScenario } from '../../src/rehearse/cluster-to-scenario.ts';
import { R } from '../../src/sandbox/api/resources.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';

function fixture(name: string): ClusterSnapshot {
  const path = fileURLToPath(new URL(`../fixtures/snapshots/${name}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as ClusterSnapshot;
}

/** Starts the scenario on a virtual clock, lets it settle, and reads it over HTTP. */
async function startAndRead(scenario: ReturnType<typeof clusterToScenario>['scenario']) {
  const clock = new VirtualClock(Date.UTC(2026, 0, 15, 10));
  const box = await Sandbox.start({ scenario, clock });
  try {
    for (
      let i = 0;
      i < 600 && box.ctx.store.list(R.pods, undefined, (p) => p.status?.phase === 'Pending').length > 0;
      i++
    )
      await clock.advance(1000);
    await clock.advance(5000);
    const kc = new KubeConfig();
    kc.loadFromString(box.kubeconfig());
    return await readSnapshot(kc, { now: () => clock.now() });
  } finally {
    await box.stop();
  }
}

/**
 * node → sorted "Kind namespace/name" of the controllers of its non-mirror pods. A Job's pods are left out:
 * the copy recreates a running Job and the sandbox's scheduler places its pods (documented in the module).
 */
function controllersByNode(snapshot: ClusterSnapshot, rename = (k: string) => k): Record<string, string[]> {
  const model = clusterModelOf(snapshot);
  const out: Record<string, string[]> = {};
  for (const pod of snapshot.pods) {
    if (isMirrorPod(pod) || !pod.spec.nodeName) continue;
    const owner = model.ownerOf(pod);
    if (owner?.kind === 'Job') continue;
    const key = owner ? `${owner.kind} ${owner.namespace}/${owner.name}` : `Pod ${podName(pod)}`;
    out[pod.spec.nodeName] = [...(out[pod.spec.nodeName] ?? []), rename(key)];
  }
  for (const list of Object.values(out)) list.sort();
  return out;
}

function podName(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

describe('clusterToScenario', () => {
  it('copies the nodes as they are: names, labels, taints, versions, allocatable, control-plane members', () => {
    const snapshot = fixture('demo');
    const { scenario } = clusterToScenario(snapshot);
    expect(scenario.kubernetesVersion).toBe('v1.30.6');
    // The pools hold no node of their own: only templates, for a replacement strategy's new nodes.
    expect(scenario.nodePools.map((p) => [p.name, p.count])).toEqual([
      ['compute', 0],
      ['general', 0],
    ]);
    expect(scenario.addons).toBe(false);
    expect(scenario.helmReleases).toEqual([]);
    expect(scenario.nodes?.map((n) => n.name)).toEqual(snapshot.nodes.map((n) => n.metadata.name));
    const compute = scenario.nodes!.find((n) => n.name === 'compute-1')!;
    expect(compute.kubeletVersion).toBe('v1.29.10');
    expect(compute.taints).toEqual([{ key: 'dedicated', value: 'compute', effect: 'NoSchedule' }]);
    expect(compute.labels['workload-class']).toBe('compute');
    const allocatable = snapshot.nodes.find((n) => n.metadata.name === 'compute-1')!.status!.allocatable!;
    expect(compute.allocatable).toEqual({ cpu: allocatable.cpu, memory: allocatable.memory });
    expect(
      scenario.nodes!.filter((n) => 'node-role.kubernetes.io/control-plane' in n.labels).map((n) => n.name),
    ).toEqual(['cp-1', 'cp-2', 'cp-3']);
  });

  it('keeps each StatefulSet replica on its node by ordinal, and each budget with its own name and rule', () => {
    const snapshot = fixture('demo');
    const { scenario } = clusterToScenario(snapshot);
    const postgres = scenario.workloads.find((w) => w.name === 'postgres')!;
    expect(postgres.kind).toBe('StatefulSet');
    expect(postgres.placement).toEqual(
      [0, 1, 2].map((i) => snapshot.pods.find((p) => p.metadata.name === `postgres-${i}`)!.spec.nodeName),
    );
    const budgets = scenario.objects.filter((o) => o.kind === 'PodDisruptionBudget');
    expect(budgets.map((b) => `${b.metadata.namespace}/${b.metadata.name}`).sort()).toEqual(
      snapshot.pdbs.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort(),
    );
    const redis = budgets.find((b) => b.metadata.name === 'redis-pdb')!;
    expect(redis.spec).toEqual({
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['redis'] }] },
      minAvailable: 2,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
  });

  it('reads no Secret or ConfigMap content into the scenario', () => {
    const { scenario } = clusterToScenario(fixture('demo'));
    expect(scenario.objects.map((o) => o.kind)).not.toContain('Secret');
    expect(scenario.objects.map((o) => o.kind)).not.toContain('ConfigMap');
    expect(scenario.helmReleases).toEqual([]);
  });

  /** A cluster whose nodes carry none of the labels a sandbox pool's nodes get (zone, region, pool). */
  const withoutTopologyLabels = (s: ClusterSnapshot): ClusterSnapshot => ({
    ...s,
    nodes: s.nodes.map((n) => ({
      ...n,
      metadata: {
        ...n.metadata,
        labels: Object.fromEntries(
          Object.entries(n.metadata.labels ?? {}).filter(([k]) => !/topology|midflight\.dev\/pool/.test(k)),
        ),
      },
    })),
  });

  it.each([
    ['demo', (s: ClusterSnapshot) => s],
    ['pdb-deadlock', (s: ClusterSnapshot) => s],
    ['regression', (s: ClusterSnapshot) => s],
    ['pdb-deadlock without zone, region or pool labels', withoutTopologyLabels],
  ])(
    'started, the copy of %s serves the same nodes, pods on the same nodes and budgets',
    async (name, change) => {
      const original = change(fixture(name.split(' ')[0]!));
      const { scenario, workloadNames } = clusterToScenario(original);
      const copy = await startAndRead(scenario);

      const nodeView = (s: ClusterSnapshot) =>
        s.nodes.map((n) => ({
          name: n.metadata.name,
          labels: n.metadata.labels,
          taints: n.spec?.taints ?? [],
          unschedulable: n.spec?.unschedulable ?? false,
          kubelet: n.status?.nodeInfo?.kubeletVersion,
          allocatable: { cpu: n.status?.allocatable?.cpu, memory: n.status?.allocatable?.memory },
        }));
      expect(nodeView(copy)).toEqual(nodeView(original));
      expect(copy.server.gitVersion).toBe(original.server.gitVersion);

      // A Deployment's ReplicaSet is renamed by the copy, and a bare pod keeps its name: compare controllers.
      const rename = (key: string) => {
        const [kind, rest] = key.split(' ') as [string, string];
        const ns = rest.slice(0, rest.indexOf('/'));
        const copied = workloadNames.get(key);
        return copied ? `${kind === 'ReplicaSet' ? 'Deployment' : kind} ${ns}/${copied}` : key;
      };
      expect(controllersByNode(copy)).toEqual(controllersByNode(original, rename));

      const budgets = (s: ClusterSnapshot) =>
        Object.fromEntries(
          [...budgetStatesOf(clusterModelOf(s)).values()].map((b) => [
            b.key,
            {
              expected: b.expectedPods,
              desired: b.desiredHealthy,
              allowed: b.disruptionsAllowed,
              byConstruction: b.blocksByConstruction,
            },
          ]),
        );
      expect(budgets(copy)).toEqual(budgets(original));

      // The real planner makes the same plan of both: the rehearsal rehearses the plan `plan` shows.
      const steps = (s: ClusterSnapshot) =>
        planUpgrade(s, parseVersion('v1.32.0'), defaultPolicy()).phases.flatMap((p) =>
          p.steps.map((step) => ({
            id: step.id,
            nodes: step.nodes,
            estimateSeconds: step.estimateSeconds,
            ...(isNodeWave(step)
              ? { maxInFlight: step.maxInFlight, respectsBudgets: step.respectsBudgets }
              : {}),
          })),
        );
      expect(steps(copy)).toEqual(steps(original));
    },
    60_000,
  );
});
