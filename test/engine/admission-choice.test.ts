/**
 * Which node the flow admits when several slots free at once (issue 11), on the sandbox in virtual time:
 * each choice's drain takes budgets the next choice would wait on, so the flow first takes the node that
 * leaves the most other candidates able to go through now, and the nodes it starts together share no budget.
 *
 * Note: the engine reaches the cluster over HTTP as always; the test reads when each eviction was accepted
 * from inside the in-process sandbox (its store's changes), which only observes.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/index.ts';
import { type RunEvent, startRun } from '../../src/engine/index.ts';
import { readSnapshot } from '../../src/kube/index.ts';
import { planUpgrade } from '../../src/plan/index.ts';
import { SandboxApiProvider } from '../../src/providers/index.ts';
import { R } from '../../src/sandbox/api/resources.ts';
import { startInProcess } from '../../src/sandbox/in-process.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { RunStore } from '../../src/store/index.ts';
import { FAST, FAST_TIMING, testPolicy } from './engine-harness.ts';

const TARGET = 'v1.31.2';

/**
 * Four workers, two slots. Placement is the prebinder's first fit from where the previous pod went (fixed by
 * the seed); with the add-ons' budgets (coredns and policy-webhook, two pods each) the pods land so:
 *   workers-1: coredns, policy-webhook, z    workers-2: coredns, z    workers-3: z    workers-4: policy-webhook
 * workers-1 shares a budget with every other node; workers-4 shares none with workers-2 or workers-3. `z`, the
 * budget with the most pods, makes workers-1 to workers-3 first on the tie-break among clear candidates.
 */
const SHARED_BUDGETS = `
name: shared-budgets
kubernetesVersion: ${TARGET}
seed: 1
prebindPods: true
controlPlane: { nodes: 1 }
nodePools:
  - { name: workers, count: 4, version: v1.30.6, capacity: { cpu: "8", memory: 32Gi } }
workloads:
  - { name: filler, namespace: app, kind: Deployment, replicas: 3, requests: { cpu: 100m, memory: 128Mi } }
  - { name: z, namespace: app, kind: Deployment, replicas: 3, requests: { cpu: 100m, memory: 128Mi }, pdb: { maxUnavailable: 1 } }
${FAST_TIMING}`;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type NodeChanged = Extract<RunEvent, { type: 'node-changed' }>;

it('starts together the nodes that share no budget, passing over the one whose drain would wait on both', async () => {
  const sandbox = await startInProcess(parseScenario(SHARED_BUDGETS, 'shared-budgets.yaml'));
  const store = RunStore.open(':memory:', { clock: sandbox.clock });
  cleanups.push(async () => {
    store.close();
    await sandbox.stop();
  });
  const kc = new KubeConfig();
  kc.loadFromString(sandbox.kubeconfig);
  // Per node, the clock times its pods' evictions were accepted (deletionTimestamp set).
  const evictedAt = new Map<string, number[]>();
  const off = sandbox.sandbox.ctx.store.onChange((e) => {
    if (e.resource !== R.pods || e.type !== 'MODIFIED') return;
    if (!e.object.metadata.deletionTimestamp || e.previous?.metadata.deletionTimestamp) return;
    const node = e.object.spec?.nodeName ?? '';
    evictedAt.set(node, [...(evictedAt.get(node) ?? []), sandbox.clock.now()]);
  });
  cleanups.push(async () => off());
  const policy = testPolicy({
    canary: { nodes: 0 },
    timings: { waveSoak: '0s' },
    defaults: { maxUnavailable: 2 },
  });
  const plan = planUpgrade(await readSnapshot(kc, { clock: sandbox.clock }), parseVersion(TARGET), policy);
  const events: RunEvent[] = [];
  const summary = await startRun(
    {
      kc,
      store,
      provider: new SandboxApiProvider(kc, sandbox.clock),
      clock: sandbox.clock,
      onEvent: (e) => events.push(e),
    },
    plan,
    FAST,
  );
  expect(summary.reason).toBeUndefined();
  expect(summary.state).toBe('succeeded');

  const admitted = events.filter(
    (e): e is NodeChanged => e.type === 'node-changed' && e.activity === 'admitted',
  );
  expect(admitted).toHaveLength(4);
  const [first, second] = admitted as [NodeChanged, NodeChanged];
  // Both slots were free at the start and were filled at the same instant, by two nodes sharing no budget:
  // workers-4 first (it leaves both workers-2 and workers-3 free), not workers-1 (after it, none is).
  expect(second.time).toBe(first.time);
  expect(first.node).toBe('workers-4');
  expect(['workers-2', 'workers-3']).toContain(second.node);
  // Neither drain waited on the other: their evictions went through before any replacement could be Ready
  // (a pod starts and is Ready in 2 s here, and an eviction waiting on a budget waits for one). Note: the
  // sandbox's virtual clock, so this does not depend on the machine's speed.
  const recoveryMs = 2_000;
  for (const node of [first.node, second.node]) {
    const times = evictedAt.get(node) ?? [];
    expect({ node, evicted: times.length > 0 }).toEqual({ node, evicted: true });
    expect({ node, waitedForRecovery: Math.max(...times) - first.time >= recoveryMs }).toEqual({
      node,
      waitedForRecovery: false,
    });
  }
  expect(sandbox.sandbox.ctx.violations).toEqual([]);
}, 60_000);
