import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, VirtualClock } from '../../src/core/clock.ts';
import { BudgetWatch } from '../../src/kube/budget-watch.ts';
import { cordonNode, uncordonNode } from '../../src/kube/cordon.ts';
import { type DrainProgress, drainNode, type PodRef } from '../../src/kube/drain.ts';
import { advanceWhenIdle } from '../../src/sandbox/idle-time.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { evictionsServed, requestsServed } from './requests-served.ts';
import { patchFaults, waitForWorkloads } from './sandbox-faults.ts';

const LAB = 'test/fixtures/scenarios/drain-lab.yaml';

interface PodRow {
  namespace: string;
  name: string;
  node: string;
  owner?: string;
  ownerKind?: string;
}

async function podRows(kc: KubeConfig, node?: string): Promise<PodRow[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listPodForAllNamespaces(node ? { fieldSelector: `spec.nodeName=${node}` } : {});
  return list.items.map((p) => {
    const owner = p.metadata?.ownerReferences?.find((o) => o.controller);
    return {
      namespace: p.metadata?.namespace ?? '',
      name: p.metadata?.name ?? '',
      node: p.spec?.nodeName ?? '',
      owner: owner?.name,
      ownerKind: owner?.kind,
    };
  });
}

/** Ready replicas per owner (ReplicaSet or StatefulSet), the measure of "pods came back elsewhere". */
async function readyByOwner(kc: KubeConfig): Promise<Map<string, number>> {
  const core = kc.makeApiClient(CoreV1Api);
  const counts = new Map<string, number>();
  for (const p of (await core.listPodForAllNamespaces()).items) {
    const owner = p.metadata?.ownerReferences?.find((o) => o.controller);
    const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (!owner || owner.kind === 'DaemonSet' || !ready || p.metadata?.deletionTimestamp) continue;
    const key = `${p.metadata?.namespace}/${owner.name}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * A sandbox on virtual time that moves whenever this process is idle (see sandbox/idle-time.ts): a drain's
 * clock time is then the sum of what it waits for (grace periods, polls, retry delays), whatever the
 * machine's speed. On a scaled clock a busy machine's stalls count ×40 and timing bounds break.
 */
async function startVirtualTimeSandbox(scenario: string): Promise<RunningSandbox> {
  const clock = new VirtualClock(Date.now());
  const driver = advanceWhenIdle(clock);
  const sandbox = await startSandbox({ scenario, clock }).catch(async (err: unknown) => {
    await driver.stop();
    throw err;
  });
  return {
    ...sandbox,
    async stop() {
      await driver.stop();
      await sandbox.stop();
    },
  };
}

/**
 * Two pods of one budget that allows one disruption, both on `node` (the other nodes are cordoned while they
 * are placed, as the scheduler would otherwise spread them): draining `node`, the second eviction is refused
 * (429) until the first pod's replacement is Ready elsewhere.
 */
async function placePairOn(kc: KubeConfig, node: string, sandbox: RunningSandbox): Promise<void> {
  const nodes = (await kc.makeApiClient(CoreV1Api).listNode()).items.map((n) => n.metadata?.name ?? '');
  const others = nodes.filter((n) => n !== node && !n.startsWith('cp-'));
  for (const other of others) await cordonNode(kc, other);
  const labels = { app: 'pair' };
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: 'pair', labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{ name: 'app', image: 'nginx:1.27', resources: { requests: { cpu: '10m' } } }],
          },
        },
      },
    },
  });
  await kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({
    namespace: 'default',
    body: { metadata: { name: 'pair' }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
  });
  await waitForWorkloads(sandbox);
  expect((await podRows(kc, node)).filter((p) => p.name.startsWith('pair-'))).toHaveLength(2);
  for (const other of others) await uncordonNode(kc, other);
}

/**
 * A Deployment `name` (label app=`name`) with one pod on each of `nodes` (a node named twice holds two), and a
 * budget `name` with `maxUnavailable` over it. The other workers are cordoned while the pods are placed; pods
 * on distinct nodes keep apart (required anti-affinity), so their replacements go to other nodes.
 */
async function placeOn(
  kc: KubeConfig,
  sandbox: RunningSandbox,
  spec: { name: string; nodes: string[]; maxUnavailable: number },
): Promise<void> {
  const workers = (await kc.makeApiClient(CoreV1Api).listNode()).items.map((n) => n.metadata?.name ?? '');
  const others = workers.filter((n) => !spec.nodes.includes(n) && !n.startsWith('cp-'));
  for (const other of others) await cordonNode(kc, other);
  const labels = { app: spec.name };
  const apart = new Set(spec.nodes).size === spec.nodes.length;
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: spec.name, labels },
      spec: {
        replicas: spec.nodes.length,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{ name: 'app', image: 'nginx:1.27', resources: { requests: { cpu: '10m' } } }],
            ...(apart
              ? {
                  affinity: {
                    podAntiAffinity: {
                      requiredDuringSchedulingIgnoredDuringExecution: [
                        { labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' },
                      ],
                    },
                  },
                }
              : {}),
          },
        },
      },
    },
  });
  await kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({
    namespace: 'default',
    body: {
      metadata: { name: spec.name },
      spec: { maxUnavailable: spec.maxUnavailable, selector: { matchLabels: labels } },
    },
  });
  await waitForWorkloads(sandbox);
  const placed = (await podRows(kc)).filter((p) => p.owner?.startsWith(`${spec.name}-`)).map((p) => p.node);
  expect(placed.sort()).toEqual([...spec.nodes].sort());
  for (const other of others) await uncordonNode(kc, other);
}

/** A budget watch that has listed the budgets: from then on the drains given it wait at its gate. */
async function liveBudgetWatch(kc: KubeConfig, clock: Clock): Promise<BudgetWatch> {
  const watch = BudgetWatch.start(kc, clock);
  await untilTrue(clock, () => watch.budgets() !== undefined);
  return watch;
}

/** Lets clock time pass, a second at a time, until `done` (ten minutes of clock at most). */
async function untilTrue(clock: Clock, done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 1_000) {
    if (waited > 10 * 60_000) throw new Error('waited ten minutes of clock for a condition');
    await clock.sleep(1_000);
  }
}

describe('drainNode on the demo cluster', () => {
  let sandbox: RunningSandbox;
  let kc: KubeConfig;

  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'demo', timeScale: 40 });
    await waitForWorkloads(sandbox);
    kc = sandbox.kubeConfig();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  /** The general workers without a bare pod (those need force), most loaded first. */
  async function drainableWorkers(): Promise<string[]> {
    const rows = await podRows(kc);
    const workers = [...new Set(rows.map((r) => r.node))].filter((n) => n.startsWith('general-'));
    return workers.filter((n) => !rows.some((r) => r.node === n && !r.ownerKind)).sort();
  }

  it('evicts every pod but DaemonSets through the budgets; the pods come back elsewhere', async () => {
    const [node] = await drainableWorkers();
    expect(node).toBeDefined();
    const before = await readyByOwner(kc);
    const onNode = (await podRows(kc, node)).filter((r) => r.ownerKind !== 'DaemonSet');
    expect(onNode.length).toBeGreaterThan(0);

    const progress: DrainProgress[] = [];
    await cordonNode(kc, node!);
    const result = await drainNode(
      kc,
      node!,
      { deleteEmptyDirData: true, timeoutMs: 300_000 },
      sandbox.box.ctx.clock,
      { onProgress: (p) => progress.push(p) },
    );

    expect(result.outcome).toBe('drained');
    expect(result.blockers).toEqual([]);
    expect(result.remaining).toEqual([]);
    expect(result.evicted.map((p) => `${p.namespace}/${p.name}`).sort()).toEqual(
      onNode.map((r) => `${r.namespace}/${r.name}`).sort(),
    );
    expect(result.skipped.length).toBeGreaterThan(0);
    expect(result.skipped.every((s) => s.reason === 'ignoring DaemonSet-managed pod')).toBe(true);
    expect(progress.at(-1)?.pending).toEqual([]);
    expect((await podRows(kc, node)).every((r) => r.ownerKind === 'DaemonSet')).toBe(true);

    await waitForWorkloads(sandbox);
    expect(await readyByOwner(kc)).toEqual(before);
    expect((await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations')).items).toEqual([]);
    await uncordonNode(kc, node!);
  });

  it.each([500, 429])('survives API errors (%i) injected into 30 percent of requests', async (code) => {
    const workers = await drainableWorkers();
    const node = workers[code === 500 ? 1 : 2];
    expect(node).toBeDefined();
    await waitForWorkloads(sandbox);
    const clock = sandbox.box.ctx.clock;
    await cordonNode(kc, node!, { clock });
    await patchFaults(sandbox, { api: { errorRate: 0.3, code } });
    let result: Awaited<ReturnType<typeof drainNode>>;
    try {
      result = await drainNode(kc, node!, { deleteEmptyDirData: true, timeoutMs: 600_000 }, clock);
    } finally {
      await patchFaults(sandbox, { api: { errorRate: 0 } });
    }
    expect(result.blockers).toEqual([]);
    expect(result.outcome).toBe('drained');
    expect(result.evicted.length).toBeGreaterThan(0);
    expect((await podRows(kc, node)).every((r) => r.ownerKind === 'DaemonSet')).toBe(true);
    expect((await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations')).items).toEqual([]);
    await uncordonNode(kc, node!, { clock });
  });
});

describe('drainNode on a budget that never allows a disruption (pdb-deadlock)', () => {
  let sandbox: RunningSandbox;
  let firstNode: string | undefined;

  beforeAll(async () => {
    sandbox = await startVirtualTimeSandbox('pdb-deadlock');
    await waitForWorkloads(sandbox);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('times out naming the pods held and the budget holding them', async () => {
    const kc = sandbox.kubeConfig();
    const rows = await podRows(kc);
    const node = rows.find((r) => r.namespace === 'legacy' && r.name.startsWith('stubborn-'))?.node;
    expect(node).toBeDefined();
    const stubborn = rows.filter((r) => r.node === node && r.name.startsWith('stubborn-'));

    const seen: DrainProgress[] = [];
    await cordonNode(kc, node!);
    const clock = sandbox.box.ctx.clock;
    const started = clock.now();
    const result = await drainNode(kc, node!, { timeoutMs: 60_000, evictionRetryDelayMs: 5_000 }, clock, {
      onProgress: (p) => seen.push(p),
    });

    expect(result.outcome).toBe('timeout');
    expect(result.durationMs).toBeGreaterThanOrEqual(60_000);
    // Virtual time: the deadline plus at most one retry delay (5 s) and a poll, whatever the machine's load.
    expect(clock.now() - started).toBeLessThan(90_000);
    const budgetBlockers = result.blockers.filter((b) => b.kind === 'disruption-budget');
    for (const pod of stubborn) {
      expect(budgetBlockers).toContainEqual(
        expect.objectContaining({
          pod: expect.objectContaining({ namespace: 'legacy', name: pod.name }),
          budget: 'stubborn-pdb',
          message: expect.stringContaining('The disruption budget stubborn-pdb needs 2 healthy pods'),
        }),
      );
      expect(result.remaining).toContainEqual(expect.objectContaining({ name: pod.name }));
    }
    // While it waited, the progress feed named the blocking budget.
    expect(seen.some((p) => p.blockedBy.some((b) => b.pdb === 'stubborn-pdb'))).toBe(true);
    // Pods with a willing budget were evicted meanwhile.
    expect(result.evicted.every((p) => !p.name.startsWith('stubborn-'))).toBe(true);
    expect((await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations')).items).toEqual([]);
    firstNode = node;
  });

  it('reports a pod under two budgets as a blocker of its own, without waiting for the deadline', async () => {
    const kc = sandbox.kubeConfig();
    const policy = kc.makeApiClient(PolicyV1Api);
    await policy.createNamespacedPodDisruptionBudget({
      namespace: 'legacy',
      body: {
        metadata: { name: 'stubborn-extra' },
        spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'stubborn' } } },
      },
    });
    try {
      const rows = await podRows(kc);
      const pod = rows.find((r) => r.name.startsWith('stubborn-') && r.node !== firstNode);
      expect(pod).toBeDefined();
      await cordonNode(kc, pod!.node);
      const result = await drainNode(kc, pod!.node, { timeoutMs: 600_000 }, sandbox.box.ctx.clock);
      expect(result.outcome).toBe('blocked');
      expect(result.blockers).toEqual([
        {
          pod: expect.objectContaining({ namespace: 'legacy', name: pod!.name }),
          kind: 'multiple-budgets',
          message:
            'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
        },
      ]);
      // Virtual time: the first refusal ends it; the bound only says it did not wait for the 10-minute deadline.
      expect(result.durationMs).toBeLessThan(60_000);
      await uncordonNode(kc, pod!.node);
    } finally {
      await policy.deleteNamespacedPodDisruptionBudget({ namespace: 'legacy', name: 'stubborn-extra' });
    }
  });

  it('with disableEviction, deletes through the budget: the escape hatch breaks it, as the record shows', async () => {
    const kc = sandbox.kubeConfig();
    const result = await drainNode(
      kc,
      firstNode!,
      { disableEviction: true, timeoutMs: 120_000 },
      sandbox.box.ctx.clock,
    );
    expect(result.outcome).toBe('drained');
    expect(result.evicted.some((p) => p.name.startsWith('stubborn-'))).toBe(true);
    const violations = await sandbox.admin<{ items: Array<{ pdb: string; cause: string }> }>(
      '/sandbox/v1/violations',
    );
    expect(violations.items).toContainEqual(
      expect.objectContaining({ pdb: 'stubborn-pdb', cause: 'delete' }),
    );
  });
});

/** The lab workloads among the pods (the add-ons kube-system runs on every cluster left out). */
function labPods(pods: PodRef[]): string[] {
  return pods
    .filter((p) => p.namespace === 'lab')
    .map((p) => p.name.split('-')[0] ?? '')
    .sort();
}

describe('drainNode with pods the filters refuse or that exit slowly (drain-lab)', () => {
  let sandbox: RunningSandbox;
  let kc: KubeConfig;

  beforeAll(async () => {
    sandbox = await startVirtualTimeSandbox(LAB);
    await waitForWorkloads(sandbox);
    kc = sandbox.kubeConfig();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('reports the bare pod and the emptyDir pod in one pass and evicts nothing', async () => {
    const before = await podRows(kc, 'general-1');
    const result = await drainNode(kc, 'general-1', {}, sandbox.box.ctx.clock);

    expect(result.outcome).toBe('blocked');
    expect(result.evicted).toEqual([]);
    const byKind = Object.fromEntries(result.blockers.map((b) => [b.kind, b.pod.name]));
    expect(byKind.unmanaged).toMatch(/^bare/);
    expect(byKind['local-storage']).toMatch(/^scratch-/);
    expect(result.blockers).toHaveLength(2);
    expect(result.blockers.find((b) => b.kind === 'unmanaged')?.message).toMatch(/no controller.*force/);
    expect(result.blockers.find((b) => b.kind === 'local-storage')?.message).toMatch(/deleteEmptyDirData/);
    expect(await podRows(kc, 'general-1')).toEqual(before);
  });

  it('refuses DaemonSet pods when not told to ignore them', async () => {
    const result = await drainNode(kc, 'general-3', { ignoreDaemonSets: false }, sandbox.box.ctx.clock);
    expect(result.outcome).toBe('blocked');
    expect(result.blockers.length).toBeGreaterThan(0);
    expect(result.blockers.every((b) => b.kind === 'daemonset')).toBe(true);
  });

  it('evicts the refused pods with force and deleteEmptyDirData, with warnings', async () => {
    await cordonNode(kc, 'general-1');
    const result = await drainNode(
      kc,
      'general-1',
      { force: true, deleteEmptyDirData: true, timeoutMs: 120_000 },
      sandbox.box.ctx.clock,
    );
    expect(result.outcome).toBe('drained');
    expect(result.warnings.map((w) => w.message).sort()).toEqual([
      'deleting pod that declares no controller',
      'deleting pod with local storage (emptyDir)',
    ]);
    expect(labPods(result.evicted)).toEqual(['bare', 'scratch']);
    await uncordonNode(kc, 'general-1');
  });

  it('waits out the grace period of a pod that ignores SIGTERM; a shorter grace period cuts it', async () => {
    const clock = sandbox.box.ctx.clock;
    await cordonNode(kc, 'general-2');
    const full = await drainNode(kc, 'general-2', { timeoutMs: 120_000 }, clock);
    expect(full.outcome).toBe('drained');
    expect(labPods(full.evicted)).toEqual(['quick', 'slow']);
    // terminationGracePeriodSeconds: 20 — the pod honouring SIGTERM is gone in about a second. Virtual time:
    // the drain's clock time is the grace period plus its polls, however slow the machine is.
    expect(full.durationMs).toBeGreaterThanOrEqual(19_000);
    expect(full.durationMs).toBeLessThan(30_000);

    await uncordonNode(kc, 'general-2');
    await waitForWorkloads(sandbox);
    await cordonNode(kc, 'general-2');
    const short = await drainNode(kc, 'general-2', { gracePeriodSeconds: 3, timeoutMs: 120_000 }, clock);
    expect(short.outcome).toBe('drained');
    // Note: a second's slack, as the sandbox keeps deletion timestamps to the second like the API does.
    expect(short.durationMs).toBeGreaterThanOrEqual(2_000);
    expect(short.durationMs).toBeLessThan(10_000);
  });
});

describe('drainNode waiting for a budget', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'demo', timeScale: 40 });
    await waitForWorkloads(sandbox);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('retries a refused eviction as soon as the budget allows it, not after the whole retry delay', async () => {
    const kc = sandbox.kubeConfig();
    await placePairOn(kc, 'general-1', sandbox);

    const progress: DrainProgress[] = [];
    await cordonNode(kc, 'general-1');
    const result = await drainNode(
      kc,
      'general-1',
      { force: true, deleteEmptyDirData: true, evictionRetryDelayMs: 30 * 60_000, timeoutMs: 5 * 60_000 },
      sandbox.box.ctx.clock,
      { onProgress: (p) => progress.push(p) },
    );
    expect(progress.some((p) => p.pending.some((x) => x.reason === 'waiting-for-budget'))).toBe(true);
    expect(result.outcome).toBe('drained');
    expect((await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations')).items).toEqual([]);
    await uncordonNode(kc, 'general-1');
  });
});

describe('drainNode with a budget watch', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startVirtualTimeSandbox('demo');
    await waitForWorkloads(sandbox);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('evicts a pod waiting for its budget the moment the watch sees the budget allow it, not at the next poll', async () => {
    const kc = sandbox.kubeConfig();
    const clock = sandbox.box.ctx.clock;
    await placePairOn(kc, 'general-1', sandbox);
    const watch = BudgetWatch.start(kc, clock);
    try {
      // A poll interval of a minute: without the watch, the refused eviction would wait for it.
      const pollIntervalMs = 60_000;
      const refusedAt = new Map<string, number>();
      const retriedAfter: number[] = [];
      await cordonNode(kc, 'general-1');
      const result = await drainNode(
        kc,
        'general-1',
        {
          force: true,
          deleteEmptyDirData: true,
          evictionRetryDelayMs: 30 * 60_000,
          pollIntervalMs,
          timeoutMs: 10 * 60_000,
          budgetWatch: watch,
        },
        clock,
        {
          onProgress: ({ pending }) => {
            for (const p of pending) {
              const since = refusedAt.get(p.pod.name);
              if (p.reason === 'waiting-for-budget' && since === undefined)
                refusedAt.set(p.pod.name, clock.now());
              if (p.reason === 'terminating' && since !== undefined) {
                retriedAfter.push(clock.now() - since);
                refusedAt.delete(p.pod.name);
              }
            }
          },
        },
      );
      expect(result.outcome).toBe('drained');
      expect(retriedAfter.length).toBeGreaterThan(0);
      for (const waited of retriedAfter) expect(waited).toBeLessThan(pollIntervalMs);
      expect((await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations')).items).toEqual([]);
    } finally {
      await watch.stop();
      await uncordonNode(kc, 'general-1');
    }
  });

  /** Sets the budget's maxUnavailable; its disruptionsAllowed follows once the controller has seen it. */
  async function setMaxUnavailable(kc: KubeConfig, name: string, maxUnavailable: number): Promise<void> {
    await kc
      .makeApiClient(PolicyV1Api)
      .patchNamespacedPodDisruptionBudget(
        { namespace: 'default', name, body: { spec: { maxUnavailable } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
  }

  it('sends no eviction while the watched budget allows none, and one at a time once it allows one', async () => {
    const kc = sandbox.kubeConfig();
    const clock = sandbox.box.ctx.clock;
    await placeOn(kc, sandbox, { name: 'held', nodes: ['general-2', 'general-2'], maxUnavailable: 0 });
    const watch = await liveBudgetWatch(kc, clock);
    const before = await evictionsServed(sandbox);
    let last: DrainProgress | undefined;
    try {
      await cordonNode(kc, 'general-2');
      const drain = drainNode(
        kc,
        'general-2',
        { force: true, deleteEmptyDirData: true, timeoutMs: 10 * 60_000, budgetWatch: watch },
        clock,
        { onProgress: (p) => (last = p) },
      );
      const held = () => last?.blockedBy.filter((b) => b.pdb === 'held') ?? [];
      // Held for a minute of clock: kubectl's loop would have asked the API a dozen times per pod by then.
      await untilTrue(clock, () => held().length === 2 && last?.pending.length === 2);
      await clock.sleep(60_000);
      expect(held()).toHaveLength(2);
      expect(held()[0]?.message).toContain(
        'The disruption budget held needs 2 healthy pods and has 2 currently',
      );
      const whileHeld = await evictionsServed(sandbox);
      expect(whileHeld.refused - before.refused).toBe(0);
      // Every eviction sent so far was one the API accepted: the node's other pods.
      expect(whileHeld.sent - before.sent).toBe(last?.evicted.length);

      await setMaxUnavailable(kc, 'held', 1);
      const result = await drain;
      expect(result.outcome).toBe('drained');
      const after = await evictionsServed(sandbox);
      expect(after.refused - before.refused).toBe(0);
      expect(after.sent - before.sent).toBe(result.evicted.length);
      expect((await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations')).items).toEqual([]);
    } finally {
      await watch.stop();
      await uncordonNode(kc, 'general-2');
    }
  });

  it('finds the budgets selecting a pod as they come, go and change their selector', async () => {
    const kc = sandbox.kubeConfig();
    const clock = sandbox.box.ctx.clock;
    const policy = kc.makeApiClient(PolicyV1Api);
    const pod = { metadata: { namespace: 'default', labels: { app: 'found', tier: 'front' } } };
    const create = (name: string, matchLabels: Record<string, string>) =>
      policy.createNamespacedPodDisruptionBudget({
        namespace: 'default',
        body: { metadata: { name }, spec: { maxUnavailable: 1, selector: { matchLabels } } },
      });
    await create('found-app', { app: 'found' });
    const watch = await liveBudgetWatch(kc, clock);
    try {
      const selecting = () => [...(watch.budgetsSelecting(pod) ?? [])].sort().join(',');
      expect(selecting()).toBe('found-app');
      await create('found-tier', { tier: 'front' });
      await untilTrue(clock, () => selecting() === 'found-app,found-tier');
      await policy.patchNamespacedPodDisruptionBudget(
        {
          namespace: 'default',
          name: 'found-tier',
          body: { spec: { selector: { matchLabels: { tier: 'back' } } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await untilTrue(clock, () => selecting() === 'found-app');
      await policy.deleteNamespacedPodDisruptionBudget({ namespace: 'default', name: 'found-app' });
      await untilTrue(clock, () => selecting() === '');
    } finally {
      await watch.stop();
      await policy.deleteNamespacedPodDisruptionBudget({ namespace: 'default', name: 'found-tier' });
    }
    expect(watch.budgetsSelecting(pod)).toBeUndefined();
  });

  it('two drains waiting on one budget that allows one disruption send one eviction, not two', async () => {
    const kc = sandbox.kubeConfig();
    const clock = sandbox.box.ctx.clock;
    const nodes = ['general-3', 'general-4'];
    await placeOn(kc, sandbox, { name: 'duo', nodes, maxUnavailable: 0 });
    const watch = await liveBudgetWatch(kc, clock);
    const before = await evictionsServed(sandbox);
    const last = new Map<string, DrainProgress>();
    try {
      for (const node of nodes) await cordonNode(kc, node);
      const drains = nodes.map((node) =>
        drainNode(
          kc,
          node,
          { force: true, deleteEmptyDirData: true, timeoutMs: 10 * 60_000, budgetWatch: watch },
          clock,
          { onProgress: (p) => last.set(node, p) },
        ),
      );
      const waiting = () => nodes.filter((n) => last.get(n)?.blockedBy.some((b) => b.pdb === 'duo')).length;
      await untilTrue(clock, () => waiting() === 2);
      const evictedBefore = () => nodes.reduce((n, node) => n + (last.get(node)?.evicted.length ?? 0), 0);
      await untilTrue(clock, () => nodes.every((n) => last.get(n)?.pending.length === 1));
      const sentWhileHeld = (await evictionsServed(sandbox)).sent - before.sent;
      expect(sentWhileHeld).toBe(evictedBefore());

      // The budget allows one: one drain's eviction goes, the other's waits for the replacement to be Ready.
      await setMaxUnavailable(kc, 'duo', 1);
      await untilTrue(clock, () => waiting() < 2);
      const onePassed = await evictionsServed(sandbox);
      expect(onePassed.sent - before.sent).toBe(sentWhileHeld + 1);
      expect(waiting()).toBe(1);

      const results = await Promise.all(drains);
      for (const result of results) expect(result.outcome).toBe('drained');
      const after = await evictionsServed(sandbox);
      expect(after.refused - before.refused).toBe(0);
      expect(after.sent - before.sent).toBe(results.reduce((n, r) => n + r.evicted.length, 0));
      expect((await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations')).items).toEqual([]);
    } finally {
      await watch.stop();
      for (const node of nodes) await uncordonNode(kc, node);
    }
  });
});

describe('drainNode watching its node pods', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startVirtualTimeSandbox('demo');
    await waitForWorkloads(sandbox);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  /** Drains `node` (its pods exit in seconds) with a poll interval of 10 minutes; uncordons it after. */
  async function drainWithLongPolls(node: string) {
    const kc = sandbox.kubeConfig();
    const clock = sandbox.box.ctx.clock;
    const pollIntervalMs = 10 * 60_000;
    const listsBefore = await requestsServed(sandbox, 'list', 'pods');
    await cordonNode(kc, node);
    try {
      const result = await drainNode(
        kc,
        node,
        { force: true, deleteEmptyDirData: true, pollIntervalMs, timeoutMs: 30 * 60_000 },
        clock,
      );
      return { result, pollIntervalMs, lists: (await requestsServed(sandbox, 'list', 'pods')) - listsBefore };
    } finally {
      await uncordonNode(kc, node);
      await waitForWorkloads(sandbox);
    }
  }

  it('sees its pods go through one watch of them, not by listing them every poll interval', async () => {
    const watchesBefore = await requestsServed(sandbox, 'watch', 'pods');
    const { result, pollIntervalMs, lists } = await drainWithLongPolls('general-1');
    expect(result.outcome).toBe('drained');
    expect(result.evicted.length).toBeGreaterThan(0);
    // Without the watch the drain would notice its pods gone only at its first poll, ten minutes in.
    expect(result.durationMs).toBeLessThan(pollIntervalMs);
    expect(lists).toBe(1);
    expect((await requestsServed(sandbox, 'watch', 'pods')) - watchesBefore).toBe(1);
  });

  it('lists the node pods every poll interval while no watch of them can be had', async () => {
    await patchFaults(sandbox, { api: { errorRate: 1, verbs: ['watch'], resources: ['pods'] } });
    try {
      const { result, pollIntervalMs, lists } = await drainWithLongPolls('general-2');
      expect(result.outcome).toBe('drained');
      expect(result.durationMs).toBeGreaterThanOrEqual(pollIntervalMs);
      expect(lists).toBeGreaterThan(1);
    } finally {
      await patchFaults(sandbox, { api: { errorRate: 0, verbs: [], resources: [] } });
    }
  });
});
