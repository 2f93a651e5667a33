/** Shared by the surge tests: a pool to replace, its policy, and what the sandbox says about the pool. */
import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'vitest';
import type { Plan } from '../../src/plan/index.ts';
import {
  type CreateNodesContext,
  type DeleteNodeContext,
  type NodeGroupProvider,
  nodeProviderFromPolicy,
} from '../../src/providers/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import { FAST_TIMING, nodes, testPolicy } from './engine-harness.ts';

/** Control plane at the target; a pool of three old workers to replace; a DaemonSet on every node. */
export const SURGE_CLUSTER = `
name: engine-surge
kubernetesVersion: v1.31.2
seed: 21
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 3, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 3, pdb: { maxUnavailable: 1 } }
  - { name: agent, namespace: kube-system, kind: DaemonSet, tolerations: [{ operator: Exists }] }
${FAST_TIMING}  nodeBootSeconds: 5
`;

/**
 * The pool replaced blue-green: no canary, waves of 2 blue nodes, the drained blue pool held for `finalSoak`
 * before it is deleted.
 */
export function blueGreenPolicy(finalSoak: string) {
  return surgePolicy({
    canary: { nodes: 0 },
    timings: { waveSoak: '2s' },
    pools: [{ name: 'general', strategy: 'blue-green', maxUnavailable: 1, waveSize: 2, finalSoak }],
  });
}

export function surgePolicy(overrides: Record<string, unknown> = {}) {
  return testPolicy({
    canary: { nodes: 1, soak: '5s' },
    pools: [{ name: 'general', strategy: 'surge', maxSurge: 1, maxUnavailable: 0 }],
    nodeProvider: { kind: 'sandbox', joinTimeout: '2m' },
    ...overrides,
  });
}

export interface Machine {
  name: string;
  state: string;
  labels: Record<string, string>;
}

export async function machines(sandbox: Pick<RunningSandbox, 'admin'>): Promise<Machine[]> {
  return (await sandbox.admin<{ items: Machine[] }>('/sandbox/v1/pools/general/nodes')).items;
}

/**
 * Samples the pool every 50 ms (wall) while a run goes: the fewest Ready, schedulable nodes seen, and the
 * most nodes seen at once.
 */
export function watchPool(sandbox: RunningSandbox) {
  const seen = { fewestServing: Number.POSITIVE_INFINITY, most: 0 };
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    try {
      const pool = (await nodes(sandbox)).filter((n) => n.labels['midflight.dev/pool'] === 'general');
      seen.fewestServing = Math.min(
        seen.fewestServing,
        pool.filter((n) => n.ready && !n.unschedulable).length,
      );
      seen.most = Math.max(seen.most, pool.length);
    } catch {}
    timer = setTimeout(poll, 50);
  };
  timer = setTimeout(poll, 0);
  return { seen, stop: () => clearTimeout(timer) };
}

/**
 * Wraps the node provider the policy names, counting creates and recording, at each delete, the pods other
 * than DaemonSet and mirror pods still on the node (read over HTTP just before the delete goes out).
 */
export class WitnessNodeProvider implements NodeGroupProvider {
  creates = 0;
  readonly deletes: string[] = [];
  readonly podsAtDelete: string[] = [];
  constructor(
    private readonly inner: NodeGroupProvider,
    private readonly sandbox: RunningSandbox,
  ) {}
  get kind() {
    return this.inner.kind;
  }
  get newNodes() {
    return this.inner.newNodes;
  }
  get joinTimeoutMs() {
    return this.inner.joinTimeoutMs;
  }
  createNodes(ctx: CreateNodesContext): Promise<string[]> {
    this.creates++;
    return this.inner.createNodes(ctx);
  }
  async deleteNode(ctx: DeleteNodeContext): Promise<void> {
    this.deletes.push(ctx.node);
    const core = this.sandbox.kubeConfig().makeApiClient(CoreV1Api);
    const pods = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${ctx.node}` });
    for (const pod of pods.items) {
      const owner = pod.metadata?.ownerReferences?.find((o) => o.controller)?.kind;
      if (owner !== 'DaemonSet' && !pod.metadata?.annotations?.['kubernetes.io/config.mirror'])
        this.podsAtDelete.push(`${ctx.node}: ${pod.metadata?.namespace}/${pod.metadata?.name}`);
    }
    return this.inner.deleteNode(ctx);
  }
  findCreated(pool: string, labels: Record<string, string>): Promise<string[] | undefined> {
    return this.inner.findCreated?.(pool, labels) ?? Promise.resolve(undefined);
  }
  // The optional hooks are passed on only when the inner provider has them, as the engine tests for them.
  get checkPool() {
    return this.inner.checkPool?.bind(this.inner);
  }
  get createdNodes() {
    return this.inner.createdNodes?.bind(this.inner);
  }
  get withdrawCreate() {
    return this.inner.withdrawCreate?.bind(this.inner);
  }
}

/** The policy's node provider for this sandbox, wrapped in a witness. */
export function witnessProvider(sandbox: RunningSandbox, plan: Plan): WitnessNodeProvider {
  return new WitnessNodeProvider(
    nodeProviderFromPolicy(plan.policy.nodeProvider!, { kc: sandbox.kubeConfig() }),
    sandbox,
  );
}

/** A sandbox in this process or in its own (sandbox-process.ts): what the checks below read over HTTP. */
type Cluster = Pick<RunningSandbox, 'kubeConfig' | 'admin'>;

/** A delete the sandbox carried out (`GET /sandbox/v1/deletions`). */
export interface NodeDeletion {
  name: string;
  deleted: 'node' | 'machine';
  podsLeft: string[];
}

export async function deletions(sandbox: Cluster): Promise<NodeDeletion[]> {
  return (await sandbox.admin<{ items: NodeDeletion[] }>('/sandbox/v1/deletions')).items;
}

/**
 * The pool after a surge or blue-green run: exactly `size` nodes, every one new (labelled by the run), at the
 * target, Ready and schedulable; every machine created joined and is one of them (none orphaned); no node
 * went with workload pods still on it (the sandbox's record of deletes); no budget violated.
 */
export async function expectPoolReplaced(sandbox: Cluster, runId: string, target: string, size = 3) {
  const pool = (await nodes(sandbox)).filter((n) => n.labels['midflight.dev/pool'] === 'general');
  expect(pool.map((n) => ({ version: n.version, ready: n.ready, unschedulable: n.unschedulable }))).toEqual(
    Array.from({ length: size }, () => ({ version: target, ready: true, unschedulable: false })),
  );
  expect(pool.every((n) => n.labels['upgrade.midflight.dev/run-id'] === runId)).toBe(true);
  expect(new Set(pool.map((n) => n.labels['upgrade.midflight.dev/replaces'])).size).toBe(size);
  const made = await machines(sandbox);
  expect(made.map((m) => m.name).sort()).toEqual(pool.map((n) => n.name).sort());
  expect((await deletions(sandbox)).filter((d) => d.podsLeft.length > 0)).toEqual([]);
  const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
  expect(items).toEqual([]);
}

/** Dies (every later store write fails) right after the provider's nth create or delete returned. */
export class DyingNodeProvider extends WitnessNodeProvider {
  dead = false;
  constructor(
    inner: NodeGroupProvider,
    sandbox: RunningSandbox,
    private readonly dieAfter: { create?: number; delete?: number },
  ) {
    super(inner, sandbox);
  }
  override async createNodes(ctx: CreateNodesContext): Promise<string[]> {
    // Note: counted when asked, not when answered: blue-green asks for its green nodes all at once.
    const answer = super.createNodes(ctx);
    const nth = this.creates;
    const names = await answer;
    if (nth === this.dieAfter.create) this.dead = true;
    return names;
  }
  override async deleteNode(ctx: DeleteNodeContext): Promise<void> {
    const answer = super.deleteNode(ctx);
    const nth = this.deletes.length;
    await answer;
    if (nth === this.dieAfter.delete) this.dead = true;
  }
}
