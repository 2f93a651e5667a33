/**
 * planUpgrade: (snapshot, target, policy) → Plan. Pure and deterministic: the same inputs give the same plan
 * and the same plan id.
 *
 * Note: phase order is fixed — preflight, etcd backup, external etcd (policy.etcd), control plane (every member, one minor per hop; worker
 * nodes are upgraded in between only when the skew policy requires it), canary, node pools in policy order,
 * add-ons, validation. Kubelets may lag the apiserver but never lead it, which is why nodes come after the
 * control plane.
 */
import { createHash } from 'node:crypto';
import {
  type BudgetState,
  budgetStatesOf,
  type ClusterModel,
  type ClusterSnapshot,
  capacityModelOf,
  clusterFingerprint,
  clusterModelOf,
  compareVersions,
  formatVersion,
  isEvictable,
  isPodReady,
  type KubeVersion,
  type MeasuredTimings,
  minorHops,
  type NodeModel,
  parseVersion,
  poolInFlightLimit,
  resolvePools,
  scaledValue,
  skewViolation,
  sourceVersionOf,
  surgeCapacityOf,
} from '../core/index.ts';
import { addonsPhase } from './addons-phase.ts';
import { controlPlanePhase, etcdBackupStep } from './control-plane-phase.ts';
import { etcdPhase } from './etcd-phase.ts';
import { etcdQuorumLoss } from './etcd-policy.ts';
import type { BudgetLimit } from './flow-order.ts';
import { lowerBound, type PoolBoundInput } from './lower-bound.ts';
import { phase, seconds, step, sum } from './plan-parts.ts';
import {
  type FlowGroupEstimate,
  type NodeWaveStep,
  PLAN_SCHEMA_VERSION,
  type Plan,
  type PlanEstimate,
  type PlanPhase,
  type PoolTimings,
  type TimingEstimate,
  type TimingSource,
} from './plan-types.ts';
import { defaultPolicy, type NodeStrategy, type Policy, type PoolPolicy } from './policy.ts';
import { poolWaves } from './pool-waves.ts';

export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

interface PoolSettings {
  name: string;
  nodes: NodeModel[];
  maxNodes: number;
  surge: number;
  /** Existing nodes that may be out of service at once (maxUnavailable as a count). */
  unavailable: number;
  strategy: NodeStrategy;
  limitName: string;
}

/** What `plan` knows besides the cluster and the policy. */
export interface PlanOptions {
  /** Earlier runs' measurements of this cluster (store/measured-history.ts). */
  measured?: MeasuredTimings;
  /** The `timings` keys the policy file sets itself: measurements never replace those. */
  explicitTimings?: readonly string[];
}

export function planUpgrade(
  snapshot: ClusterSnapshot,
  target: KubeVersion,
  policy: Policy,
  options: PlanOptions = {},
): Plan {
  const model = clusterModelOf(snapshot, policy.poolLabel);
  const source = sourceVersionOf(model);
  if (!source) throw new PlanError(`cannot read the cluster version from "${snapshot.server.gitVersion}"`);
  if (compareVersions(target, source) < 0) {
    throw new PlanError(
      `${formatVersion(target)} is older than the running ${formatVersion(source)}; downgrades are not planned`,
    );
  }
  const hops = minorHops(source, target);
  const warnings: string[] = [];
  const t = policy.timings;
  const phases: PlanPhase[] = [];

  phases.push(
    phase('preflight', 'Preflight', [
      step({
        id: 'preflight',
        kind: 'preflight',
        title: `Re-run preflight checks against ${formatVersion(target)}`,
        reasons: ['the cluster may have changed since this plan was written'],
        checks: ['no blocker findings', 'the cluster fingerprint matches this plan'],
        rollback: 'nothing to undo: preflight changes nothing',
        estimateSeconds: seconds(t.preflight),
      }),
    ]),
  );

  // Note: an external etcd roll needs the snapshot as much as a control-plane hop does (once every member
  // runs the new minor, etcd cannot go back by itself), also when Kubernetes itself does not move.
  if (policy.etcdBackup.enabled && (hops.length > 0 || policy.etcd)) {
    const backup = etcdBackupStep(model, policy, hops.length > 0);
    if (backup.checks.length === 0)
      warnings.push(
        'no etcd backup will be taken: the provider manages etcd and hooks.backup is not set (set it, e.g. to a Velero backup, or etcdBackup.enabled: false to go without)',
      );
    phases.push(phase('etcd-backup', 'etcd backup', [backup]));
  }

  if (policy.etcd) {
    // Note: the policy's validation refuses this with the field; a policy built in code reaches it here.
    const loss = etcdQuorumLoss(policy.etcd.members.length);
    if (loss) throw new PlanError(`cannot roll etcd (etcd.members): ${loss}`);
    phases.push(etcdPhase(policy.etcd));
  }

  const pools = poolSettingsOf(model, policy);
  const workerNodes = pools.flatMap((p) => p.nodes);
  const kubeletOf = new Map(workerNodes.map((n) => [n.name, n.kubelet]));
  const budgets = budgetLimits(budgetStatesOf(model));
  const evictions = evictionIndex(model);
  const capacity = capacityModelOf(model);
  const nodeTimings = nodeTimingsOf(policy, options);
  const fastestCycle = fastestCycleOf(policy, options.measured);
  const fastestDrain = fastestDrainOf(policy, options.measured);
  const boundInputs: PoolBoundInput[] = [];
  // Per bound input: its nodes' expected cycles added up, and the soaks of its waves (poolConcurrency).
  const boundWork: Array<{ cycles: number; soaks: number }> = [];
  // The bound inputs of each node phase, so pools flowing together can be counted together.
  const phaseBounds = new Map<PlanPhase, number[]>();
  let flowGroups = 0;
  let nodeWaves = 0;
  // The soaks after waves: waits the policy asks for, which no execution can skip; added to the bound.
  let soakSeconds = 0;
  // blue-green pools (pool@version) whose green pool is already counted: it boots once, before the first drain.
  const greenBooted = new Set<string>();

  /** One pool's nodes (or its canary) as waves; their bound and warnings join the plan's. */
  const waves = (
    pool: PoolSettings,
    nodes: NodeModel[],
    kind: 'canary' | 'node-wave',
    idPrefix: string,
    version: string,
    soak: number,
  ): NodeWaveStep[] => {
    const names = nodes.map((n) => n.name);
    // Note: one provider call per minor (node-steps.ts), so a node two minors behind takes two upgrades;
    // a surge replacement is one new node at the version, whatever the old one ran.
    const upgradesOf = (node: string) =>
      pool.strategy === 'surge' || pool.strategy === 'blue-green'
        ? 1
        : minorsBehind(kubeletOf.get(node), parseVersion(version));
    // Note: blue-green boots the whole green pool at once before the pool's first drain (engine/blue-green.ts):
    // once per pool, not per node; each blue node's cycle is then its drain alone.
    const blueGreen = pool.strategy === 'blue-green';
    const cycleOf = (node: string) => {
      const timing = nodeTimings(pool.name);
      if (blueGreen) return timing.nodeDrain.seconds;
      return (
        timing.nodeDrain.seconds +
        timing.nodeUpgrade.seconds * upgradesOf(node) +
        (timing.nodeReady?.seconds ?? 0)
      );
    };
    const greenBoot = blueGreen && !greenBooted.has(`${pool.name}@${version}`);
    if (greenBoot) greenBooted.add(`${pool.name}@${version}`);
    const result = poolWaves({
      pool: pool.name,
      nodes: names,
      kind,
      idPrefix,
      boundName: kind === 'canary' && pool.name !== policy.canary.pool ? `${pool.name} (canary)` : pool.name,
      version,
      maxNodes: pool.maxNodes,
      limitName: pool.limitName,
      strategy: pool.strategy,
      surge: pool.strategy === 'blue-green' ? pool.nodes.length : pool.surge,
      unavailable: pool.unavailable,
      ...(pool.strategy === 'blue-green' && (kind === 'node-wave' || names.length === pool.nodes.length)
        ? { finalSoakSeconds: seconds(poolFinalSoak(policy, pool.name)) }
        : {}),
      waveSize: kind === 'canary' ? names.length : waveSizeOf(policy, pool, names.length),
      soakSeconds: soak,
      cycleOf,
      fastestCycleOf: (node) =>
        fastestDrain(pool.name) + (blueGreen ? 0 : fastestCycle(pool.name, upgradesOf(node))),
      ...(greenBoot
        ? {
            setupSeconds: {
              expected:
                nodeTimings(pool.name).nodeUpgrade.seconds + (nodeTimings(pool.name).nodeReady?.seconds ?? 0),
              fastest: fastestCycle(pool.name, 1),
            },
          }
        : {}),
      podStartupSeconds: seconds(t.podStartup),
      evictionsOf: evictions,
      budgets,
      capacity,
      // Note: blue-green drains onto a whole green pool: as much room again as the pool has.
      extra: surgeCapacityOf(pool.nodes, pool.strategy === 'blue-green' ? pool.nodes.length : pool.surge),
    });
    warnings.push(...result.warnings);
    boundInputs.push(result.bound);
    nodeWaves += result.steps.length;
    // A blue-green pool's final soak is a wait the policy asks for too.
    const soaks = sum(result.steps.map((st) => soak + (st.replacement?.finalSoakSeconds ?? 0)));
    soakSeconds += soaks;
    boundWork.push({ cycles: sum(names.map(cycleOf)), soaks });
    return result.steps;
  };

  const nodePoolPhases = (version: KubeVersion, label: string, withCanary: boolean): PlanPhase[] => {
    const out: PlanPhase[] = [];
    const v = formatVersion(version);
    let canaryLeft = withCanary && !policy.canary.pool ? policy.canary.nodes : 0;
    const ordered = withCanary && policy.canary.pool ? canaryPoolFirst(pools, policy.canary.pool) : pools;
    if (withCanary && policy.canary.pool && !pools.some((p) => p.name === policy.canary.pool))
      warnings.push(
        `canary.pool ${policy.canary.pool} matches no worker pool (pools: ${pools.map((p) => p.name).join(', ') || 'none'}): the plan has no canary`,
      );
    for (const pool of ordered) {
      const behind = pool.nodes.filter((n) => {
        const kubelet = kubeletOf.get(n.name);
        return !kubelet || compareVersions(kubelet, version) < 0;
      });
      const isCanaryPool = withCanary && policy.canary.pool === pool.name;
      if (behind.length === 0) {
        if (pool.nodes.length > 0 && label === '')
          warnings.push(`pool ${pool.name}: every node already runs ${v} or newer`);
        continue;
      }
      const canaryNodes = canaryLeft > 0 ? behind.slice(0, canaryLeft) : [];
      canaryLeft -= canaryNodes.length;
      const rest = behind.slice(canaryNodes.length);
      const prefix = `pool-${pool.name}-${v}${label ? `-${label}` : ''}`;
      if (canaryNodes.length > 0) {
        const canarySoak = seconds(policy.canary.soak);
        const steps = waves(pool, canaryNodes, 'canary', `canary-${v}`, v, canarySoak);
        steps.at(-1)!.reasons.push(`soak ${policy.canary.soak} before the rest of the nodes`);
        out.push(
          phase('canary', `Canary: first ${canaryNodes.length} node(s) of ${pool.name}`, steps, {
            version: v,
            pool: pool.name,
          }),
        );
      }
      if (rest.length === 0) continue;
      // This phase's bound input is the one its waves add (after the canary's, when the pool gave one).
      const firstBound = boundInputs.length;
      const steps = isCanaryPool
        ? waves(pool, rest, 'canary', prefix, v, seconds(policy.canary.soak))
        : waves(pool, rest, 'node-wave', prefix, v, seconds(poolSoak(policy, pool.name)));
      if (isCanaryPool)
        steps.at(-1)!.reasons.push(`canary pool: soak ${policy.canary.soak} before other pools`);
      const name = `${isCanaryPool ? 'Canary pool' : 'Node pool'} ${pool.name} → ${v}${label ? ` (${label})` : ''}`;
      const poolPhase = phase(isCanaryPool ? 'canary' : 'node-pool', name, steps, {
        version: v,
        pool: pool.name,
      });
      phaseBounds.set(poolPhase, [firstBound]);
      out.push(poolPhase);
    }
    if (policy.poolConcurrency)
      groupPools(
        out,
        policy.poolConcurrency.pools,
        () => `pools-${v}${label ? `-${label}` : ''}-${++flowGroups}`,
      );
    for (const n of workerNodes) {
      const k = kubeletOf.get(n.name);
      if (!k || compareVersions(k, version) < 0) kubeletOf.set(n.name, version);
    }
    return out;
  };

  // Control plane, one hop at a time; upgrade workers first when a hop would leave kubelets out of skew.
  let current = source;
  for (const hop of hops) {
    const lagging = workerNodes.filter((n) => {
      const k = kubeletOf.get(n.name);
      return k && skewViolation('kubelet', k, [hop]);
    });
    if (lagging.length > 0) {
      // Note: kubelets may always move up to the control plane's current version, so this is always allowed.
      warnings.push(
        `${lagging.length} node(s) would be out of skew at ${formatVersion(hop)}: they are upgraded to ${formatVersion(current)} first`,
      );
      phases.push(...nodePoolPhases(current, 'skew', false));
    }
    phases.push(controlPlanePhase(model, hop, policy));
    current = hop;
  }

  phases.push(...nodePoolPhases(target, '', policy.canary.nodes > 0 || policy.canary.pool !== undefined));

  const addons = addonsPhase(model, target, policy);
  if (addons) {
    phases.push(addons.phase);
    warnings.push(...addons.warnings);
  }
  phases.push(
    phase('validation', 'Validation', [
      step({
        id: 'validation',
        kind: 'validation',
        title: `Validate the cluster at ${formatVersion(target)}`,
        reasons: ['the upgrade is done only when the cluster is as healthy as before it'],
        checks: [
          `/version reports ${formatVersion(target)}`,
          `every node is Ready with kubelet ${formatVersion(target)} (nodes set aside by drain.onTimeout are named instead)`,
          'no node is left cordoned by this run',
        ],
        rollback:
          'forward-fix; restore the etcd snapshot only as a last resort (it rewinds all cluster state)',
        estimateSeconds: seconds(t.validation),
      }),
    ]),
  );

  const together = flowGroupsOf(phases, phaseBounds);
  const cap = policy.poolConcurrency?.maxInFlight ?? 1;
  const bound = lowerBound(
    boundInputs,
    together.map((g) => ({ members: g.bounds, maxInFlight: cap })),
  );
  const groupEstimates: FlowGroupEstimate[] = together.map((g, i) => {
    const work = g.bounds.map((b) => boundWork[b]!);
    const floor = bound.together![i]!;
    return {
      id: g.id,
      pools: g.phases.map((p) => p.pool ?? ''),
      maxInFlight: cap,
      // Note: the pools' work through the shared cap, or the longest pool when its own limit holds it longer.
      estimateSeconds: Math.max(
        ...g.phases.map((p) => p.estimateSeconds),
        Math.ceil(sum(work.map((w) => w.cycles)) / cap),
      ),
      // Note: soaks overlap: the group waits at least its slowest pool with its soaks, or the cap's floor.
      lowerBoundSeconds: Math.max(
        floor.capSeconds,
        ...g.bounds.map((b) => bound.pools[b]!.seconds + boundWork[b]!.soaks),
      ),
    };
  });
  /** A phase's time in the run: a phase flowing with others counts once for its group (its first phase). */
  const inRun = (p: PlanPhase): number => {
    if (p.flowGroup === undefined) return p.estimateSeconds;
    const g = groupEstimates.find((e) => e.id === p.flowGroup)!;
    return together.find((t) => t.id === p.flowGroup)!.phases[0] === p ? g.estimateSeconds : 0;
  };
  const groupedSoaks = sum(together.flatMap((g) => g.bounds.map((b) => boundWork[b]!.soaks)));
  const nodePhaseSeconds = sum(
    phases.filter((p) => p.kind === 'canary' || p.kind === 'node-pool').map(inRun),
  );
  const plan: Plan = {
    schemaVersion: PLAN_SCHEMA_VERSION,
    id: '',
    cluster: { server: snapshot.server.url, fingerprint: clusterFingerprint(snapshot) },
    snapshotTakenAt: snapshot.takenAt,
    source: formatVersion(source),
    target: formatVersion(target),
    hops: hops.map(formatVersion),
    policy,
    phases,
    estimate: {
      totalSeconds: sum(phases.map(inRun)),
      nodePhaseSeconds,
      nodeWaves,
      nodePhaseLowerBoundSeconds:
        bound.seconds -
        sum((bound.together ?? []).map((g) => g.seconds)) +
        soakSeconds -
        groupedSoaks +
        sum(groupEstimates.map((g) => g.lowerBoundSeconds)),
      lowerBound: bound,
      ...(groupEstimates.length > 0 ? { flowGroups: groupEstimates } : {}),
      ...measuredEstimate(options.measured, pools, nodeTimings),
    },
    warnings: [...new Set(warnings)],
  };
  plan.id = planId(plan);
  return plan;
}

/**
 * Each pool's drain, upgrade (per minor) and, when measured, time to Ready: the policy's where its file sets
 * them, else what earlier runs on this cluster measured for the pool, else the policy's defaults.
 */
function nodeTimingsOf(policy: Policy, options: PlanOptions): (pool: string) => PoolTimings {
  const explicit = new Set(options.explicitTimings ?? []);
  const t = policy.timings;
  // Note: a value other than the default was set by someone (a policy built in code names no keys).
  const policySets = (key: 'nodeDrain' | 'nodeUpgrade') =>
    explicit.has(key) || t[key] !== defaultPolicy().timings[key];
  const sourceOf = (key: 'nodeDrain' | 'nodeUpgrade'): TimingSource =>
    policySets(key) ? 'policy' : 'default';
  return (pool) => {
    const m = options.measured?.pools[pool];
    const runs = options.measured && m ? m.runs : undefined;
    const pick = (key: 'nodeDrain' | 'nodeUpgrade', measured: number | undefined): TimingEstimate =>
      !policySets(key) && measured !== undefined && runs !== undefined
        ? { seconds: measured, source: 'measured', runs }
        : { seconds: seconds(t[key]), source: sourceOf(key) };
    const nodeDrain = pick('nodeDrain', m?.nodeDrainSeconds);
    const nodeUpgrade = pick('nodeUpgrade', m?.nodeUpgradeSeconds);
    // Note: a policy's nodeUpgrade includes the node's return to Ready; a measured one is the provider's
    // work alone, so the measured time to Ready is added to it.
    return nodeUpgrade.source === 'measured' && m?.nodeReadySeconds !== undefined
      ? {
          nodeDrain,
          nodeUpgrade,
          nodeReady: { seconds: m.nodeReadySeconds, source: 'measured', runs: runs! },
        }
      : { nodeDrain, nodeUpgrade };
  };
}

/**
 * A pool's node upgrade at its fastest, for the lower bound: `upgrades` provider calls and the return to Ready.
 * The least of what the policy states (its nodeUpgrade includes the return to Ready) and, when earlier runs
 * measured the pool, the fastest upgrade and return to Ready they saw: a policy that pads its timings must
 * not lift the bound above what the cluster did. (A node's cycle adds its drain at its fastest, from
 * measurements only: see plan/lower-bound.ts.)
 */
function fastestCycleOf(
  policy: Policy,
  measured: MeasuredTimings | undefined,
): (pool: string, upgrades: number) => number {
  const stated = seconds(policy.timings.nodeUpgrade);
  return (pool, upgrades) => {
    const m = measured?.pools[pool];
    const fromPolicy = stated * upgrades;
    if (m?.fastestUpgradeSeconds === undefined) return fromPolicy;
    return Math.min(fromPolicy, m.fastestUpgradeSeconds * upgrades + (m.fastestReadySeconds ?? 0));
  };
}

/**
 * A pool's drain at its fastest, for the lower bound: the fastest an earlier run measured, or the policy's
 * `nodeDrain` if that is less (a rehearsal's pods stop in it); 0 without a measurement, since a policy's drain
 * is an estimate (minutes by default), not a floor.
 */
function fastestDrainOf(policy: Policy, measured: MeasuredTimings | undefined): (pool: string) => number {
  const stated = seconds(policy.timings.nodeDrain);
  return (pool) => {
    const fastest = measured?.pools[pool]?.fastestDrainSeconds;
    return fastest === undefined ? 0 : Math.min(fastest, stated);
  };
}

/** The pools' timings, in the plan only when a measurement replaced a default (plans without keep their id). */
function measuredEstimate(
  measured: MeasuredTimings | undefined,
  pools: PoolSettings[],
  nodeTimings: (pool: string) => PoolTimings,
): Pick<PlanEstimate, 'timings'> {
  if (!measured) return {};
  const timings = pools.map((p) => ({ pool: p.name, ...nodeTimings(p.name) }));
  const used = timings.some((p) => p.nodeDrain.source === 'measured' || p.nodeUpgrade.source === 'measured');
  return used ? { timings } : {};
}

/**
 * policy.poolConcurrency: marks runs of consecutive node-pool phases (never a canary: it goes first and
 * alone) as flowing together, up to `pools` of them a group (all when unset); a run of one stays alone.
 */
function groupPools(phases: PlanPhase[], pools: number | undefined, nextId: () => string): void {
  let run: PlanPhase[] = [];
  const close = () => {
    if (run.length > 1) {
      const id = nextId();
      for (const p of run) p.flowGroup = id;
    }
    run = [];
  };
  for (const p of phases) {
    if (p.kind !== 'node-pool') {
      close();
      continue;
    }
    run.push(p);
    if (pools !== undefined && run.length === pools) close();
  }
  close();
}

/** The plan's flow groups in order: their phases and those phases' bound inputs. */
function flowGroupsOf(
  phases: readonly PlanPhase[],
  phaseBounds: ReadonlyMap<PlanPhase, number[]>,
): Array<{ id: string; phases: PlanPhase[]; bounds: number[] }> {
  const groups: Array<{ id: string; phases: PlanPhase[]; bounds: number[] }> = [];
  for (const p of phases) {
    if (p.flowGroup === undefined) continue;
    let g = groups.find((x) => x.id === p.flowGroup);
    if (!g) {
      g = { id: p.flowGroup, phases: [], bounds: [] };
      groups.push(g);
    }
    g.phases.push(p);
    g.bounds.push(...(phaseBounds.get(p) ?? []));
  }
  return groups;
}

/** "plan-" + 12 hex of SHA-256 over the plan with an empty id. */
export function planId(plan: Plan): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ ...plan, id: '' }))
    .digest('hex');
  return `plan-${hash.slice(0, 12)}`;
}

function poolSettingsOf(model: ClusterModel, policy: Policy): PoolSettings[] {
  const byName = resolvePools(model, policy.pools);
  const listed = policy.pools.map((p) => p.name);
  const names = [
    ...listed.filter((n) => byName.has(n)),
    ...[...byName.keys()].filter((n) => !listed.includes(n)),
  ];
  const settings: PoolSettings[] = [];
  for (const name of names) {
    if (name === 'control-plane') continue;
    const nodes = byName.get(name) ?? [];
    const pp: PoolPolicy | undefined = policy.pools.find((p) => p.name === name);
    const strategy = pp?.strategy ?? policy.defaults.strategy;
    const maxUnavailable = pp?.maxUnavailable ?? policy.defaults.maxUnavailable;
    const maxSurge = pp?.maxSurge ?? policy.defaults.maxSurge;
    const { surge, unavailable, maxNodes } = poolInFlightLimit(
      { maxUnavailable, maxSurge, strategy },
      nodes.length,
    );
    const limitName =
      surge > 0
        ? `maxUnavailable ${maxUnavailable} + maxSurge ${maxSurge}`
        : `maxUnavailable ${maxUnavailable}`;
    settings.push({ name, nodes, maxNodes, surge, unavailable, strategy, limitName });
  }
  return settings;
}

/** blue-green: the hold of the drained blue pool; by default as long as the canary's soak. */
function poolFinalSoak(policy: Policy, pool: string): string {
  return policy.pools.find((p) => p.name === pool)?.finalSoak ?? policy.canary.soak;
}

function poolSoak(policy: Policy, pool: string): string {
  return policy.pools.find((p) => p.name === pool)?.waveSoak ?? policy.timings.waveSoak;
}

/** Minors from `kubelet` up to `target` (at least 1: a node in a wave is behind it). */
function minorsBehind(kubelet: KubeVersion | undefined, target: KubeVersion): number {
  if (!kubelet || kubelet.major !== target.major) return 1;
  return Math.max(1, target.minor - kubelet.minor);
}

/** Nodes per wave: the pool's waveSize (a count, or a percent of `nodes` rounded up), at least 1. */
function waveSizeOf(policy: Policy, pool: PoolSettings, nodes: number): number {
  const size = policy.pools.find((p) => p.name === pool.name)?.waveSize ?? policy.defaults.waveSize;
  return Math.max(1, scaledValue(size, nodes, true));
}

function canaryPoolFirst(pools: PoolSettings[], name: string): PoolSettings[] {
  const first = pools.find((p) => p.name === name);
  return first ? [first, ...pools.filter((p) => p !== first)] : pools;
}

function budgetLimits(states: Map<unknown, BudgetState>): Map<string, BudgetLimit> {
  const limits = new Map<string, BudgetLimit>();
  for (const s of states.values()) limits.set(s.key, { key: s.key, allowed: s.disruptionsAllowed });
  return limits;
}

/** Healthy evictable pods per budget on each node, memoised. */
function evictionIndex(model: ClusterModel): (node: string) => ReadonlyMap<string, number> {
  const cache = new Map<string, Map<string, number>>();
  return (name) => {
    let counts = cache.get(name);
    if (counts) return counts;
    counts = new Map();
    for (const pod of model.nodeByName.get(name)?.pods ?? []) {
      if (!isEvictable(pod) || !isPodReady(pod)) continue;
      for (const pdb of model.budgetsOf(pod)) {
        const key = `${pdb.metadata.namespace ?? 'default'}/${pdb.metadata.name}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    cache.set(name, counts);
    return counts;
  };
}
