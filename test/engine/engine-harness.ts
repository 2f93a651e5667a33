/**
 * Shared setup for engine tests: a tiny sandbox cluster at a high time scale, a plan for it, a state store
 * in a temporary directory, a provider that counts its calls, and the invariants every run must keep.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { ScaledClock } from '../../src/core/clock.ts';
import { parseVersion } from '../../src/core/versions.ts';
import type { EngineDeps, RunEvent } from '../../src/engine/index.ts';
import { readSnapshot } from '../../src/kube/snapshot.ts';
import { type Plan, type Policy, planUpgrade, validatePolicy } from '../../src/plan/index.ts';
import { CommandProvider, type UpgradeContext, type UpgradeProvider } from '../../src/providers/index.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { RunStore, type RunStoreOptions } from '../../src/store/index.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';

export const TIME_SCALE = 40;

/** The engine clusters' physics: pods start and stop in a second, a node upgrades in ten. */
export const FAST_TIMING = `timing:
  nodeHeartbeatSeconds: 5
  nodeMonitorGraceSeconds: 20
  podStartSeconds: 1
  podReadySeconds: 1
  podStopSeconds: 1
  nodeUpgradeSeconds: 10
  controlPlaneUpgradeSeconds: 10
`;

/** One control-plane member, a 3-node pool and a 2-node pool; pods start and stop in a second. */
export const SMALL_CLUSTER = `
name: engine-small
kubernetesVersion: v1.30.6
seed: 11
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 3, capacity: { cpu: "4", memory: 16Gi } }
  - { name: batch, count: 2, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 3, pdb: { maxUnavailable: 1 } }
  - { name: api, namespace: app, kind: Deployment, replicas: 2, pdb: { minAvailable: 1 } }
${FAST_TIMING}`;

/** Control plane at v1.31.2; two workers two minors behind, at v1.29.10. */
export const LAGGING_CLUSTER = `
name: engine-lagging
kubernetesVersion: v1.31.2
seed: 5
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 2, version: v1.29.10, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 2, pdb: { maxUnavailable: 1 } }
${FAST_TIMING}`;

/** pdb-deadlock, smaller and faster: `stubborn` can never be evicted. */
export const DEADLOCK_CLUSTER = `
name: engine-deadlock
kubernetesVersion: v1.31.2
seed: 7
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 3, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: stubborn, namespace: legacy, kind: Deployment, replicas: 1, pdb: { minAvailable: 1 } }
  - { name: web, namespace: app, kind: Deployment, replicas: 3, pdb: { maxUnavailable: 1 } }
${FAST_TIMING}`;

/** Control plane already at v1.31.2; three workers to upgrade from v1.30.6 (a node-only plan). */
export const WORKERS_CLUSTER = `
name: engine-workers
kubernetesVersion: v1.31.2
seed: 9
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 3, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 3, pdb: { maxUnavailable: 1 } }
${FAST_TIMING}`;

/**
 * Four workers to upgrade; web has no budget, so the only one is the sandbox's coredns (minAvailable 1 of 2):
 * with two in flight, only the flow decides the order.
 */
export const FOUR_WORKERS_CLUSTER = `
name: engine-four-workers
kubernetesVersion: v1.31.2
seed: 13
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 4, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 4 }
${FAST_TIMING}`;

export async function startCluster(yaml: string): Promise<RunningSandbox> {
  return startSandbox({ scenario: parseScenario(yaml, 'engine-test.yaml'), timeScale: TIME_SCALE });
}

export function commandProvider(sandbox: RunningSandbox): CommandProvider {
  return new CommandProvider({
    command: 'node bin/midflight.js sandbox upgrade-node {node} --to {version} --kubeconfig {kubeconfig}',
    kubeconfigPath: sandbox.kubeconfigPath,
    timeoutMs: 60_000,
  });
}

/** Holds a node's upgrade until `holdFor(node)` resolves (undefined: no hold), then upgrades it. */
export class HeldProvider implements UpgradeProvider {
  readonly kind = 'held';
  constructor(
    private readonly inner: UpgradeProvider,
    private readonly holdFor: (node: string) => Promise<void> | undefined,
  ) {}
  async upgradeNode(ctx: UpgradeContext): Promise<void> {
    await this.holdFor(ctx.node);
    return this.inner.upgradeNode(ctx);
  }
}

/** A promise the test resolves when it chooses. */
export function latch(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * Wraps a provider, counting the calls per node (a node upgraded twice would show 2) and recording each
 * call's versions in order.
 */
export class CountingProvider implements UpgradeProvider {
  readonly calls = new Map<string, number>();
  readonly upgrades: Array<{ node: string; from: string; to: string }> = [];
  constructor(
    private readonly inner: UpgradeProvider,
    readonly skipsMinors = inner.skipsMinors ?? false,
  ) {}
  get kind() {
    return this.inner.kind;
  }
  upgradeNode(ctx: UpgradeContext): Promise<void> {
    this.calls.set(ctx.node, (this.calls.get(ctx.node) ?? 0) + 1);
    this.upgrades.push({ node: ctx.node, from: ctx.previousVersion, to: ctx.version });
    return this.inner.upgradeNode(ctx);
  }
  /** The versions `node` was asked to move to, in order. */
  hopsOf(node: string): string[] {
    return this.upgrades.filter((u) => u.node === node).map((u) => u.to);
  }
}

export function testPolicy(overrides: Record<string, unknown> = {}): Policy {
  const result = validatePolicy(
    {
      canary: { nodes: 1, soak: '20s' },
      drain: { timeout: '2m' },
      timings: { waveSoak: '5s' },
      provider: { kind: 'command', command: 'unused' },
      preflight: { skip: ['no-disruption-budget', 'webhook-fail-closed', 'certificates'] },
      ...overrides,
    },
    'test-policy.yaml',
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

export async function planFor(
  sandbox: Pick<RunningSandbox, 'kubeConfig'>,
  target: string,
  policy = testPolicy(),
): Promise<Plan> {
  const snapshot = await readSnapshot(sandbox.kubeConfig());
  return planUpgrade(snapshot, parseVersion(target), policy);
}

export interface Harness {
  deps: EngineDeps;
  events: RunEvent[];
  statePath: string;
  openStore(options?: RunStoreOptions): RunStore;
  cleanup(): void;
}

/** Fast waits: the defaults suit real clusters. */
export const FAST = {
  pollIntervalMs: 1_000,
  controlPollMs: 1_000,
  // Note: 60 s of clock time is 1.5 s of wall time at ×40: shorter leases expire when a busy machine stalls.
  leaseDurationSeconds: 60,
  nodeReadyTimeoutMs: 120_000,
  controlPlaneTimeoutMs: 120_000,
  gateTimeoutMs: 120_000,
  pendingGraceMs: 60_000,
  addonsProgressDeadlineMs: 120_000,
  providerRetryDelayMs: 2_000,
  drain: { evictionRetryDelayMs: 1_000, pollIntervalMs: 500 },
};

export function harness(
  sandbox: RunningSandbox,
  provider: UpgradeProvider,
  storeOptions: RunStoreOptions = {},
): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-engine-'));
  const statePath = join(dir, 'state.db');
  const clock = new ScaledClock(TIME_SCALE);
  const events: RunEvent[] = [];
  const stores: RunStore[] = [];
  const openStore = (options: RunStoreOptions = {}) => {
    const s = RunStore.open(statePath, { clock, ...options });
    stores.push(s);
    return s;
  };
  return {
    deps: {
      kc: sandbox.kubeConfig(),
      store: openStore(storeOptions),
      provider,
      clock,
      onEvent: (e) => events.push(e),
      kubeconfigPath: sandbox.kubeconfigPath,
    },
    events,
    statePath,
    openStore,
    cleanup() {
      for (const s of stores) s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface NodeView {
  name: string;
  version: string;
  unschedulable: boolean;
  ready: boolean;
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

export async function nodes(sandbox: Pick<RunningSandbox, 'kubeConfig'>): Promise<NodeView[]> {
  const list = await sandbox.kubeConfig().makeApiClient(CoreV1Api).listNode();
  return list.items.map((n) => ({
    name: n.metadata!.name!,
    version: n.status?.nodeInfo?.kubeletVersion ?? '',
    unschedulable: n.spec?.unschedulable === true,
    ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    annotations: n.metadata?.annotations ?? {},
    labels: n.metadata?.labels ?? {},
  }));
}

/** Every node at the target and schedulable, no budget ever violated. */
export async function expectUpgraded(
  sandbox: RunningSandbox,
  target: string,
  except: string[] = [],
): Promise<void> {
  const all = await nodes(sandbox);
  for (const n of all.filter((x) => !except.includes(x.name))) {
    expect({ node: n.name, version: n.version, unschedulable: n.unschedulable }).toEqual({
      node: n.name,
      version: target,
      unschedulable: false,
    });
  }
  const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
  expect(items).toEqual([]);
}

/** Counts kubelet version changes per node by watching the API: an upgrade done twice would count 2. */
export class VersionWatch {
  readonly changes = new Map<string, number>();
  private last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly sandbox: RunningSandbox) {}
  async start(): Promise<void> {
    for (const n of await nodes(this.sandbox)) this.last.set(n.name, n.version);
    const poll = async () => {
      try {
        for (const n of await nodes(this.sandbox)) {
          if (this.last.get(n.name) !== n.version)
            this.changes.set(n.name, (this.changes.get(n.name) ?? 0) + 1);
          this.last.set(n.name, n.version);
        }
      } catch {}
      this.timer = setTimeout(poll, 50);
    };
    this.timer = setTimeout(poll, 50);
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

/**
 * The command provider's HTTP equivalent without a process per node (faster): POST the sandbox's
 * upgrade endpoint and wait. Stands in for a cloud API that upgrades a node.
 */
export class SandboxApiProvider implements UpgradeProvider {
  readonly kind = 'sandbox-api';
  constructor(private readonly sandbox: RunningSandbox) {}
  async upgradeNode(ctx: UpgradeContext): Promise<void> {
    const { requestRaw } = await import('../../src/kube/client.ts');
    const res = await requestRaw(
      this.sandbox.kubeConfig(),
      'POST',
      `/sandbox/v1/nodes/${encodeURIComponent(ctx.node)}/upgrade?wait=true`,
      { body: { version: ctx.version } },
    );
    ctx.log(`sandbox answered ${res.status}`);
    if (res.status >= 300) {
      const { ProviderError } = await import('../../src/providers/index.ts');
      let reason = res.body;
      try {
        const body = JSON.parse(res.body) as { message?: string; error?: string };
        reason = body.message ?? body.error ?? reason;
      } catch {}
      throw new ProviderError(`upgrade of ${ctx.node} failed: ${reason}`, ctx.node, [reason]);
    }
  }
}

export class CrashError extends Error {
  constructor(readonly atWrite: number) {
    super(`simulated crash at store write ${atWrite}`);
    this.name = 'CrashError';
  }
}

/** A store hook that "kills the process" at write `n`: that write and every later one fail. */
export function crashAt(n: number): RunStoreOptions['beforeWrite'] {
  return (write) => {
    if (write >= n) throw new CrashError(n);
  };
}

/** Deterministic pseudo-random numbers (mulberry32) for seeded crash points. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
