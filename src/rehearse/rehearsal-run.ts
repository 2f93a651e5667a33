/**
 * One rehearsal run: the copy of the cluster started in this process on a virtual clock, read over HTTP as
 * any cluster is, planned by the real planner and upgraded by the real engine through the sandbox's own
 * upgrade endpoint (a simulated provider). Nothing here talks to the real cluster: the only kubeconfig in
 * sight is the copy's.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Clock, ClusterSnapshot, KubeVersion } from '../core/index.ts';
import { type RunEvent, type RunSummary, startRun } from '../engine/index.ts';
import { readSnapshot } from '../kube/index.ts';
import { isNodeWave, type Plan, type Policy, planUpgrade } from '../plan/index.ts';
import {
  type NodeGroupProvider,
  nodeProviderFromPolicy,
  ProviderConfigError,
  providerFromPolicy,
  SandboxApiProvider,
  type UpgradeProvider,
} from '../providers/index.ts';
import type { SimTiming } from '../sandbox/context.ts';
import { startInProcess } from '../sandbox/in-process.ts';
import { RunStore } from '../store/index.ts';
import { clusterToScenario } from './cluster-to-scenario.ts';
import { type Downtime, DowntimeWatch } from './downtime-watch.ts';
import { type RunOutcome, runPeer, withControlPlaneAt } from './peer-run.ts';
import { type PendingShortfall, PendingWatch } from './pending-watch.ts';

export interface RehearsalRunInput {
  /** The real cluster, as `plan` reads it. */
  snapshot: ClusterSnapshot;
  target: KubeVersion;
  policy: Policy;
  timing: Partial<SimTiming>;
  seed: number;
  /** Where the run's clock starts (epoch ms): the opening of the next maintenance window, or now. */
  startAt: number;
  /** Clock ms after which a run that has not ended is stopped and reported as not finishing. */
  clockLimitMs: number;
  /** A loop people run today (peer-run.ts), N nodes at a time, instead of Midflight's engine. */
  peer?: { concurrency: number };
}

/** Clock ms one budget held drains back, summed over the nodes it held. */
export interface BudgetHold {
  /** namespace/name */
  budget: string;
  ms: number;
  nodes: string[];
  /** Pods (namespace/name, the copy's) whose evictions it refused. */
  pods: string[];
}

export interface NodeTimes {
  node: string;
  /** Clock ms from the run's start. */
  startMs: number;
  endMs?: number;
}

export interface RehearsalRunResult {
  state: RunSummary['state'];
  reason?: string;
  /** Clock ms, the whole run. */
  totalMs: number;
  /** Clock ms, the canary and node-pool phases together, when they all ended. */
  nodePhaseMs?: number;
  phases: Array<{ name: string; kind: string; status: string; durationMs?: number }>;
  holds: BudgetHold[];
  failed: Array<{ node: string; reason: string }>;
  nodes: NodeTimes[];
  /** Single-replica workloads with no Ready replica for a while, longest first. */
  downtimes: Downtime[];
  /** Pods the copy could not place while nodes were in flight, per pool in flight, longest first. */
  pending: PendingShortfall[];
  /** Disruption-budget violations the copy recorded (evictions or deletes that took a budget below its minimum). */
  violations: number;
  plan: Plan;
  notes: string[];
  wallMs: number;
}

export async function rehearseOnce(input: RehearsalRunInput): Promise<RehearsalRunResult> {
  const wallStart = performance.now();
  const { scenario, notes } = clusterToScenario(input.snapshot, {
    timing: input.timing,
    seed: input.seed,
    poolLabel: input.policy.poolLabel,
  });
  // Note: plain HTTP (behind a token) on loopback: the engine and the copy share this process, and TLS was a
  // third of the CPU of each request (bench/tls-cost.ts).
  const cluster = await startInProcess(input.peer ? withControlPlaneAt(scenario, input.target) : scenario, {
    startAt: input.startAt,
    tls: false,
  });
  const { clock } = cluster;
  const store = RunStore.open(':memory:', { clock });
  try {
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    // Note: the real planner reads the copy as it reads any cluster, so the plan names the copy's objects.
    const plan = planUpgrade(await readSnapshot(kc, { clock }), input.target, input.policy);
    const holds = new HoldTracker();
    const nodes = new Map<string, NodeTimes>();
    const runStart = clock.now();
    const onEvent = (e: RunEvent) => {
      if (e.type === 'eviction-progress') holds.onProgress(e.node, e.blocking, e.time);
      if (e.type === 'node-changed') {
        const times = nodes.get(e.node) ?? { node: e.node, startMs: e.time - runStart };
        nodes.set(e.node, times);
        if (e.status === 'done' || e.status === 'failed' || e.status === 'skipped') {
          times.endMs = e.time - runStart;
          holds.onNodeEnded(e.node, e.time);
        }
      }
    };
    const downtime = new DowntimeWatch(cluster.sandbox.ctx.store, clock);
    // Note: nodes of no wave are control-plane members.
    const poolOf = new Map(
      plan.phases.flatMap((p) =>
        p.steps.filter(isNodeWave).flatMap((st) => st.nodes.map((n) => [n, st.pool])),
      ),
    );
    const pending = new PendingWatch(cluster.sandbox.ctx.store, clock, () => [
      ...new Set(
        [...nodes.values()]
          .filter((t) => t.endMs === undefined)
          .map((t) => poolOf.get(t.node) ?? 'control-plane'),
      ),
    ]);
    const stop = new AbortController();
    const limit = clock.setTimer(input.clockLimitMs, () =>
      stop.abort(new Error(`still running after ${Math.round(input.clockLimitMs / 3_600_000)} h of clock`)),
    );
    const midflight = async (): Promise<RunOutcome> => {
      const { provider, note } = rehearsalProvider(input.policy, kc, clock);
      if (note) notes.push(note);
      const replacing = rehearsalNodeProvider(input.policy, kc);
      if (replacing?.note) notes.push(replacing.note);
      const nodeProvider = replacing?.provider;
      return startRun({ kc, store, provider, nodeProvider, clock, onEvent }, plan, {
        signal: stop.signal,
        // Note: the backup that matters is the real cluster's, taken by the real run; a copy's is noise.
        skipEtcdBackup: 'a rehearsal runs on a copy of the cluster',
      });
    };
    const { peer } = input;
    const summary = peer
      ? await runPeer({ kc, clock, target: input.target, ...peer, signal: stop.signal, onEvent })
      : await midflight();
    limit.cancel();
    holds.closeAll(clock.now());
    const downtimes = downtime.finish();
    const stranded = pending.finish();
    const failed = [...summary.nodes.failed, ...summary.nodes.skipped, ...summary.nodes.quarantined].map(
      (n) => ({
        node: n.node,
        reason: n.reason,
      }),
    );
    return {
      state: summary.state,
      reason: stop.signal.aborted ? (stop.signal.reason as Error).message : summary.reason,
      totalMs: summary.durationMs,
      nodePhaseMs: summary.nodePhase?.durationMs,
      phases: summary.phases.map((p) => ({
        name: p.name,
        kind: p.kind,
        status: p.status,
        durationMs: p.durationMs,
      })),
      holds: holds.result(),
      failed,
      nodes: [...nodes.values()],
      violations: cluster.sandbox.ctx.violations.length,
      downtimes,
      pending: stranded,
      plan,
      notes,
      wallMs: performance.now() - wallStart,
    };
  } finally {
    store.close();
    await cluster.stop();
  }
}

/**
 * The provider of the rehearsal: the policy's `job` provider itself, whose Jobs the copy runs as a cluster
 * would (so their pods' start-up counts); any other (a `command` would reach real machines) is replaced by
 * the sandbox's own node upgrade, and the report says so.
 */
function rehearsalProvider(
  policy: Policy,
  kc: KubeConfig,
  clock: Clock,
): { provider: UpgradeProvider; note?: string } {
  const simulated = new SandboxApiProvider(kc, clock);
  if (policy.provider.kind !== 'job')
    return {
      provider: simulated,
      note: `the ${policy.provider.kind} provider is not run (it would reach real machines): the copy's nodes are upgraded by the sandbox itself`,
    };
  try {
    return { provider: providerFromPolicy(policy.provider, { kc, clock }).provider };
  } catch (err) {
    if (!(err instanceof ProviderConfigError)) throw err;
    return {
      provider: simulated,
      note: `the job provider is misconfigured (${err.message}): the sandbox upgrades the copy's nodes itself`,
    };
  }
}

/**
 * The node provider of a rehearsal whose policy replaces nodes (surge, blue-green): always the sandbox's own
 * node group API, creating the copy's new nodes from its pool templates (clusterToScenario). A `command`
 * provider would create real machines, so it is not run; its joinTimeout is kept. The new nodes are
 * recognised by the sandbox's pool label, which every node it creates carries, whatever the policy's
 * `newNodes` rule says about the real cloud's names and labels.
 */
function rehearsalNodeProvider(
  policy: Policy,
  kc: KubeConfig,
): { provider: NodeGroupProvider; note?: string } | undefined {
  if (!policy.nodeProvider) return undefined;
  const { kind, joinTimeout } = policy.nodeProvider;
  const provider = nodeProviderFromPolicy(
    { kind: 'sandbox', ...(joinTimeout === undefined ? {} : { joinTimeout }) },
    { kc },
  );
  return {
    provider,
    ...(kind === 'sandbox'
      ? {}
      : {
          note: `the ${String(kind)} node provider is not run (it would create and delete real machines): the copy's replacement nodes are created by the sandbox from each pool's template, booting in nodeUpgrade's time`,
        }),
  };
}

/**
 * How long each budget held each node's drain: from the first progress report naming it as the blocker of a
 * pod on that node to the first that no longer does (or the node's end).
 */
class HoldTracker {
  private readonly open = new Map<string, { budget: string; node: string; since: number }>();
  private readonly totals = new Map<string, { ms: number; nodes: Set<string>; pods: Set<string> }>();

  onProgress(node: string, blocking: Array<{ pod: string; budget?: string }>, time: number): void {
    const now = new Set<string>();
    for (const b of blocking) {
      if (!b.budget) continue;
      const key = `${node}\u0000${b.budget}`;
      now.add(key);
      if (!this.open.has(key)) this.open.set(key, { budget: b.budget, node, since: time });
      this.total(b.budget).pods.add(b.pod);
    }
    for (const [key, hold] of this.open) if (hold.node === node && !now.has(key)) this.close(key, time);
  }

  onNodeEnded(node: string, time: number): void {
    for (const [key, hold] of this.open) if (hold.node === node) this.close(key, time);
  }

  closeAll(time: number): void {
    for (const key of [...this.open.keys()]) this.close(key, time);
  }

  result(): BudgetHold[] {
    return [...this.totals.entries()]
      .map(([budget, t]) => ({ budget, ms: t.ms, nodes: [...t.nodes].sort(), pods: [...t.pods].sort() }))
      .sort((a, b) => b.ms - a.ms || a.budget.localeCompare(b.budget));
  }

  private close(key: string, time: number): void {
    const hold = this.open.get(key)!;
    this.open.delete(key);
    const total = this.total(hold.budget);
    total.ms += time - hold.since;
    total.nodes.add(hold.node);
  }

  private total(budget: string) {
    let t = this.totals.get(budget);
    if (!t) {
      t = { ms: 0, nodes: new Set(), pods: new Set() };
      this.totals.set(budget, t);
    }
    return t;
  }
}
