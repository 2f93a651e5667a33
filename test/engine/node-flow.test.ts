/**
 * The node flow on the sandbox (issue 11): a wave's next node is admitted the moment a slot frees, with no
 * barrier waiting for a slower node; a node whose budget allows no disruption is passed over (the run says
 * why) and taken once the budget recovers, never cordoned while it allows none.
 *
 * Note: a provider wrapper holds chosen nodes' upgrades until the test lets them go. The cluster is still
 * reached over HTTP; holding only decides which node is slow, as a slow reboot would.
 */
import { CoreV1Api, PolicyV1Api, type V1PodDisruptionBudget } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { matchesLabelSelector } from '../../src/core/index.ts';
import { type RunEvent, startRun } from '../../src/engine/index.ts';
import { requestRaw } from '../../src/kube/index.ts';
import type { NodeWaveStep, Plan } from '../../src/plan/index.ts';
import type { NodeRowDetail } from '../../src/store/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import {
  CountingProvider,
  expectUpgraded,
  FAST,
  FOUR_WORKERS_CLUSTER,
  HeldProvider,
  harness,
  latch,
  nodes,
  planFor,
  SandboxApiProvider,
  startCluster,
  testPolicy,
} from './engine-harness.ts';

const TARGET = 'v1.31.2';

/** One wave, two nodes in flight, no canary and no soak: only the flow decides the order. */
const FLOW_POLICY = testPolicy({
  canary: { nodes: 0 },
  timings: { waveSoak: '0s' },
  defaults: { maxUnavailable: 2 },
});

function theWave(plan: Plan): NodeWaveStep {
  const waves = plan.phases.flatMap((p) => p.steps).filter((s) => s.kind === 'node-wave');
  expect(waves).toHaveLength(1);
  return waves[0] as NodeWaveStep;
}

type NodeChanged = Extract<RunEvent, { type: 'node-changed' }>;

/** The clock time of the node's first node-changed event with this activity. */
function timeOf(events: RunEvent[], node: string, activity: string): number {
  const e = events.find(
    (x): x is NodeChanged => x.type === 'node-changed' && x.node === node && x.activity === activity,
  );
  if (!e) throw new Error(`no "${activity}" event for ${node}`);
  return e.time;
}

/** Nodes in the order the flow admitted them. */
function admissions(events: RunEvent[]): string[] {
  return events
    .filter((e): e is NodeChanged => e.type === 'node-changed' && e.activity === 'admitted')
    .map((e) => e.node);
}

/** The most nodes between admission and done at any moment of the run. */
function mostInFlight(events: RunEvent[]): number {
  let now = 0;
  let most = 0;
  for (const e of events) {
    if (e.type !== 'node-changed') continue;
    if (e.activity === 'admitted') most = Math.max(most, ++now);
    if (e.activity === 'done') now--;
  }
  return most;
}

describe('the node flow', () => {
  it('admits the next node the moment a slot frees, while a slower node is still in flight', async () => {
    const sandbox = await startCluster(FOUR_WORKERS_CLUSTER);
    let slow = '';
    const thirdAdmitted = latch();
    let h: ReturnType<typeof harness> | undefined;
    // The slow node's upgrade waits for the third admission. Note: the clock limit only keeps a regression
    // (a batch barrier, under which no third node is admitted while this one is in flight) from hanging: it
    // then fails on the order of events below.
    const provider = new CountingProvider(
      new HeldProvider(new SandboxApiProvider(sandbox), (node) =>
        node === slow ? Promise.race([thirdAdmitted.promise, h!.deps.clock.sleep(300_000)]) : undefined,
      ),
    );
    h = harness(sandbox, provider);
    try {
      const plan = await planFor(sandbox, TARGET, FLOW_POLICY);
      const wave = theWave(plan);
      expect({ nodes: wave.nodes.length, maxInFlight: wave.maxInFlight }).toEqual({
        nodes: 4,
        maxInFlight: 2,
      });
      // The first node admitted is the slow one. Note: not the plan's first: with both slots free at the start,
      // the flow may take first a node that leaves the other slot a candidate sharing no budget with it.
      h.deps.onEvent = (e) => {
        h!.events.push(e);
        const admitted = admissions(h!.events);
        if (admitted.length === 1) slow = admitted[0]!;
        if (admitted.length === 3) thirdAdmitted.open();
      };

      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');

      const order = admissions(h.events);
      expect(order).toHaveLength(4);
      expect(order[0]).toBe(slow);
      const [, fast, third] = order as [string, string, string, string];
      // The third node went in when the first fast node finished, before the slow one did: no barrier.
      const fastDone = timeOf(h.events, fast, 'done');
      expect(timeOf(h.events, third, 'admitted')).toBeGreaterThanOrEqual(fastDone);
      expect(timeOf(h.events, third, 'admitted')).toBeLessThan(timeOf(h.events, slow, 'done'));
      // …and it was the very next thing the flow did after that node finished: no other node finished first.
      const doneBefore = h.events.filter(
        (e) =>
          e.type === 'node-changed' &&
          e.activity === 'done' &&
          e.time <= timeOf(h!.events, third, 'admitted'),
      );
      expect(doneBefore.map((e) => (e as NodeChanged).node)).toEqual([fast]);
      expect(mostInFlight(h.events)).toBe(2);
      await expectUpgraded(sandbox, TARGET);
      for (const node of wave.nodes)
        expect({ node, calls: provider.calls.get(node) }).toEqual({ node, calls: 1 });
      // Its evictions carry the run id, so the cluster's disruption counter tells them from others' (M3).
      const metrics = await requestRaw(sandbox.kubeConfig(), 'GET', '/metrics');
      expect(metrics.body).toMatch(
        new RegExp(`sandbox_pod_disruptions_total\\{[^}]*cause="eviction"[^}]*run_id="${summary.runId}"`),
      );
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('passes over a node whose budget allows no disruption, says why, and takes it once the budget recovers', async () => {
    const sandbox = await startCluster(FOUR_WORKERS_CLUSTER);
    const fastNodesHeld = latch();
    let blockedNode = '';
    const provider = new CountingProvider(
      new HeldProvider(new SandboxApiProvider(sandbox), (node) =>
        node === blockedNode ? undefined : fastNodesHeld.promise,
      ),
    );
    const h = harness(sandbox, provider);
    const policyApi = sandbox.kubeConfig().makeApiClient(PolicyV1Api);
    try {
      // Note: preflight rightly refuses to start while a budget allows no eviction at all; here it allows
      // none only until the test restores it.
      const plan = await planFor(sandbox, TARGET, {
        ...FLOW_POLICY,
        preflight: { ...FLOW_POLICY.preflight, skip: [...FLOW_POLICY.preflight.skip, 'pdb-blocks-drain'] },
      });
      const wave = theWave(plan);
      blockedNode = wave.nodes[0]!;
      const budget = await budgetWithPodOn(sandbox, blockedNode);
      const key = `${budget.metadata!.namespace}/${budget.metadata!.name}`;
      const free = await nodesWithoutPodsOf(sandbox, budget, wave.nodes);
      // Enough nodes the budget does not touch to fill both slots while it allows none.
      expect(free.length).toBeGreaterThanOrEqual(wave.maxInFlight);

      const original = budget.spec!;
      await setBudgetSpec(sandbox, budget, { selector: original.selector, maxUnavailable: 0 });
      await budgetAllows(sandbox, budget, (n) => n === 0);

      const inUpgrade = new Set<string>();
      const bothHeld = latch();
      h.deps.onEvent = (e) => {
        h.events.push(e);
        if (e.type === 'node-changed' && e.activity === 'upgrade') inUpgrade.add(e.node);
        if (inUpgrade.size === wave.maxInFlight) bothHeld.open();
      };
      const running = startRun(h.deps, plan, FAST);

      // Both slots are taken by other nodes, now held in their upgrade; the budget still allows none.
      await Promise.race([bothHeld.promise, running]);
      expect([...inUpgrade].sort()).toEqual(admissions(h.events).sort());
      expect(admissions(h.events)).not.toContain(blockedNode);
      const blocked = (await nodes(sandbox)).find((n) => n.name === blockedNode)!;
      expect({ node: blockedNode, cordoned: blocked.unschedulable }).toEqual({
        node: blockedNode,
        cordoned: false,
      });
      expect((await readBudget(policyApi, budget)).status?.disruptionsAllowed).toBe(0);

      // The budget recovers; the held nodes then finish and free their slots.
      await setBudgetSpec(sandbox, await readBudget(policyApi, budget), original);
      await budgetAllows(sandbox, budget, (n) => n > 0);
      const recoveredAt = h.deps.clock.now();
      fastNodesHeld.open();

      const summary = await running;
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');

      // Every node admitted ahead of it recorded why: its budget allowed no disruption.
      const why = `${blockedNode}: budget ${key} allows no disruption now`;
      const [first, second] = admissions(h.events);
      const store = h.openStore();
      for (const node of [first!, second!]) {
        expect(free).toContain(node);
        expect(store.stepState(summary.runId, wave.id, node)?.detail).toMatchObject({
          aheadOf: expect.arrayContaining([why]),
        });
      }
      const logs = h.events.filter((e) => e.type === 'log').map((e) => e.message);
      expect(logs).toContainEqual(
        expect.stringContaining(`admitted ${first} ahead of the plan's order: ${why}`),
      );
      // Taken at the first slot after the budget recovered, in the plan's order again: nothing passed over.
      expect(admissions(h.events)[2]).toBe(blockedNode);
      expect(
        store.stepState<NodeRowDetail>(summary.runId, wave.id, blockedNode)?.detail.aheadOf,
      ).toBeUndefined();
      expect(timeOf(h.events, blockedNode, 'admitted')).toBeGreaterThanOrEqual(recoveredAt);
      expect(timeOf(h.events, blockedNode, 'cordon')).toBeGreaterThanOrEqual(recoveredAt);
      await expectUpgraded(sandbox, TARGET);
      for (const node of wave.nodes)
        expect({ node, calls: provider.calls.get(node) }).toEqual({ node, calls: 1 });
    } finally {
      fastNodesHeld.open();
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);
});

async function readBudget(api: PolicyV1Api, budget: V1PodDisruptionBudget): Promise<V1PodDisruptionBudget> {
  return api.readNamespacedPodDisruptionBudget({
    namespace: budget.metadata!.namespace!,
    name: budget.metadata!.name!,
  });
}

/** The first budget (by namespace/name) selecting a pod that runs on `node`. */
async function budgetWithPodOn(sandbox: RunningSandbox, node: string): Promise<V1PodDisruptionBudget> {
  const kc = sandbox.kubeConfig();
  const budgets = (await kc.makeApiClient(PolicyV1Api).listPodDisruptionBudgetForAllNamespaces()).items;
  const pods = (
    await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })
  ).items;
  const found = budgets.find((b) =>
    pods.some(
      (p) =>
        p.metadata?.namespace === b.metadata?.namespace &&
        matchesLabelSelector(b.spec?.selector as never, p.metadata?.labels),
    ),
  );
  if (!found) throw new Error(`no budget selects a pod on ${node}`);
  return found;
}

/** Of `candidates`, the nodes running no pod the budget selects. */
async function nodesWithoutPodsOf(
  sandbox: RunningSandbox,
  budget: V1PodDisruptionBudget,
  candidates: readonly string[],
): Promise<string[]> {
  const pods = (
    await sandbox
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: budget.metadata!.namespace! })
  ).items.filter((p) => matchesLabelSelector(budget.spec?.selector as never, p.metadata?.labels));
  return candidates.filter((n) => !pods.some((p) => p.spec?.nodeName === n));
}

/** Replaces the budget's spec (a PUT, as `kubectl edit` does). */
async function setBudgetSpec(
  sandbox: RunningSandbox,
  budget: V1PodDisruptionBudget,
  spec: V1PodDisruptionBudget['spec'],
): Promise<void> {
  await sandbox
    .kubeConfig()
    .makeApiClient(PolicyV1Api)
    .replaceNamespacedPodDisruptionBudget({
      namespace: budget.metadata!.namespace!,
      name: budget.metadata!.name!,
      body: { ...budget, spec, status: undefined },
    });
}

/** Waits until the budget's status (as its controller computes it) satisfies `ok`. */
async function budgetAllows(
  sandbox: RunningSandbox,
  budget: V1PodDisruptionBudget,
  ok: (allowed: number) => boolean,
): Promise<void> {
  const api = sandbox.kubeConfig().makeApiClient(PolicyV1Api);
  for (let i = 0; ; i++) {
    const current = await readBudget(api, budget);
    if (
      (current.status?.observedGeneration ?? 0) >= (current.metadata?.generation ?? 0) &&
      ok(current.status?.disruptionsAllowed ?? -1)
    )
      return;
    // Note: a bound so that a broken controller fails the test instead of hanging it; far above what it needs.
    if (i > 2_000) throw new Error(`budget ${current.metadata?.name} never reached the state asked for`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
