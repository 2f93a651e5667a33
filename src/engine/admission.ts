/**
 * The live side of a wave's admission (core/admission.ts decides): when a slot frees, what each candidate's
 * drain would evict, per budget, and what each budget allows now, read from the cluster; what the drains in
 * flight have yet to evict, kept from their progress.
 *
 * Note: with more than READ_ALL_UP_TO nodes waiting, candidates are read one at a time in the plan's order
 * and reading stops at the first whose evictions can all go through now, so a wave whose plan order holds
 * costs one pod list per node. At most CANDIDATES_READ are read for one choice: the plan put the nodes in an
 * order that keeps budgets apart, and a candidate far down it is rarely better than one read already.
 * With READ_ALL_UP_TO or fewer waiting, all are read.
 */
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import {
  type AdmissionCandidate,
  type AdmissionChoice,
  type AdmissionVerdict,
  chooseNextNode,
  isEvictable,
  isPodReady,
  judgeCandidate,
  type Pod,
  parseDuration,
} from '../core/index.ts';
import { BudgetsByLabel, budgetKey, type DrainProgress } from '../kube/index.ts';
import type { RunContext } from './run-context.ts';

const CANDIDATES_READ = 8;
/**
 * With this many nodes waiting or fewer, every one is read for each choice: a few pod lists, and the end of a
 * wave is where a budget's pods, moved by earlier drains, gather on the last nodes (core/admission.ts takes
 * the nodes of the budgets with the most pods left first).
 */
const READ_ALL_UP_TO = 24;
/** A candidate's pods read less than this long ago (clock ms) are not read again for the next choice. */
const READ_FRESH_MS = 1_000;

/** A pod a drain would evict: the budgets selecting it, and whether a StatefulSet owns it. */
interface BudgetedPod {
  budgets: string[];
  /** Its replacement is created only once it is gone (same name), so its budget recovers a stop later. */
  statefulSet: boolean;
}

export class WaveAdmission {
  /** Per node in flight: its pods whose eviction is not accepted yet (namespace/name). */
  private readonly inFlight = new Map<string, Map<string, BudgetedPod>>();
  /** Per budget, the pods of `inFlight` it selects: kept as they come and go rather than counted per choice. */
  private readonly draining = new Map<string, number>();
  /** The budgets' label index, kept while their selectors stay as they are. */
  private index?: BudgetsByLabel;
  /** The policy's pod start-up (ms). */
  private readonly startupMs: number;
  /** Each waiting node's last read (see podsOf): when, against which budgets' index. */
  private readonly lastRead = new Map<
    string,
    { at: number; index: BudgetsByLabel; pods: Map<string, BudgetedPod> }
  >();
  /** What the last choice read of each candidate, kept for the one admitted. */
  private readonly read = new Map<string, Map<string, BudgetedPod>>();
  /** Evicted pods still terminating (namespace/name): since when, for the stop time. */
  private readonly terminating = new Map<string, BudgetedPod & { since: number }>();
  /** Per budget, when its last disruption taken by a drain of this flow is due back (clock ms). */
  private readonly dueBack = new Map<string, number>();
  /** Budgets seen selecting StatefulSet pods. */
  private readonly statefulSetBudgets = new Set<string>();
  /** Stop times seen (evicted → gone), for the recovery of StatefulSet budgets. */
  private stops = { total: 0, count: 0 };

  constructor(private readonly ctx: RunContext) {
    this.startupMs = parseDuration(ctx.plan.policy.timings.podStartup);
  }

  /**
   * The next node among `waiting` (in the plan's order); undefined when it is empty. `slotsFree`: the flow's
   * free slots, this one's included (core/admission.ts fills slots free together so that most drains go at once).
   */
  async choose(waiting: readonly string[], slotsFree = 1): Promise<AdmissionChoice | undefined> {
    if (waiting.length === 0) return undefined;
    const budgets = await this.budgets();
    const byLabel = this.budgetIndex(budgets);
    const allowed = new Map<string, number>();
    for (const b of budgets) allowed.set(budgetKey(b), b.status?.disruptionsAllowed ?? 0);
    // A copy: drains report progress while the candidates are read, and the choice judges them all alike.
    const draining = new Map(this.draining);
    this.read.clear();
    const candidates: AdmissionCandidate[] = [];
    const readAll = waiting.length <= READ_ALL_UP_TO;
    for (const node of readAll ? waiting : waiting.slice(0, CANDIDATES_READ)) {
      const pods = await this.podsOf(node, byLabel);
      this.read.set(node, pods);
      const candidate = { node, evictions: countPerBudget(pods) };
      candidates.push(candidate);
      // Note: whether a candidate is clear depends on what the budgets allow and the drains in flight only,
      // not on how budgets recover, which is read once below.
      if (!readAll && judgeCandidate(candidate, { candidates, allowed, draining }).kind === 'clear') break;
    }
    // Note: the clock is read once every candidate is read, for the choice's waits.
    const input = { candidates, allowed, draining, slotsFree, ...this.recovery(candidates, allowed) };
    if (!readAll) return chooseNextNode(input);
    const left = new Map<string, number>();
    for (const c of candidates) for (const [b, n] of c.evictions) left.set(b, (left.get(b) ?? 0) + n);
    return chooseNextNode({ ...input, left });
  }

  /**
   * What the node's drain would evict, read from the cluster, or as read for an earlier choice less than
   * READ_FRESH_MS ago with the same budgets' index. Note: the choices of one round (slots freed together)
   * read the same candidates; between them the only pods a waiting node gains are replacements just
   * scheduled, not Ready yet, which admission does not count, and at worst a pod that turned Ready within
   * the second is missed for a choice (the Eviction API stays the judge of every eviction). In a rehearsal
   * the virtual clock stands still within a round, so three reads in four were such repeats.
   */
  private async podsOf(node: string, byLabel: BudgetsByLabel): Promise<Map<string, BudgetedPod>> {
    const now = this.ctx.clock.now();
    const last = this.lastRead.get(node);
    if (last && last.index === byLabel && now - last.at < READ_FRESH_MS) return last.pods;
    const pods = budgetsOfPods(await this.ctx.cluster.listPodsOnNode(node), byLabel);
    for (const pod of pods.values())
      if (pod.statefulSet) for (const b of pod.budgets) this.statefulSetBudgets.add(b);
    this.lastRead.set(node, { at: now, index: byLabel, pods });
    return pods;
  }

  /**
   * The label index of the budgets, built again only when a budget came, went or had its spec changed (its
   * generation moved): budgets' status changes with every eviction, their selectors hardly ever.
   */
  private budgetIndex(budgets: readonly V1PodDisruptionBudget[]): BudgetsByLabel {
    if (!this.index?.indexes(budgets)) this.index = new BudgetsByLabel(budgets);
    return this.index;
  }

  /**
   * How the candidates' budgets recover, as far as this flow has seen: a disruption comes back the pod start-up
   * of the policy's timings after an eviction, a StatefulSet's a pod's stop later (its replacement waits for
   * the name), the stop as measured on this flow's drains; when each budget's last disruption is due back.
   * Note: only the candidates' budgets, the only ones a choice looks up (not every budget this flow has met).
   */
  private recovery(candidates: readonly AdmissionCandidate[], allowed: ReadonlyMap<string, number>) {
    const startup = this.startupMs;
    const stop = this.stopMs();
    const now = this.ctx.clock.now();
    const recoveryMs = new Map<string, number>();
    const dueBackMs = new Map<string, number>();
    for (const candidate of candidates)
      for (const budget of candidate.evictions.keys()) {
        if (this.statefulSetBudgets.has(budget)) recoveryMs.set(budget, startup + stop);
        const at = this.dueBack.get(budget);
        if (at !== undefined && (allowed.get(budget) ?? 0) <= 0) dueBackMs.set(budget, Math.max(0, at - now));
      }
    return { recoveryMs, defaultRecoveryMs: startup, dueBackMs };
  }

  /**
   * An evicted pod's stop, as measured on this flow's drains. Note: until one is measured, 1 ms: the policy
   * has no pod stop time (timings.nodeDrain is a whole drain's, minutes by default, which would make every
   * StatefulSet budget look minutes from recovering), but a stop is never nothing, so on otherwise equal
   * waits a Deployment's budget is expected back before a StatefulSet's.
   */
  private stopMs(): number {
    const { total, count } = this.stops;
    return count > 0 ? total / count : 1;
  }

  /**
   * Nodes a resumed wave takes back before any other: what their drains may still evict is read from the
   * cluster (the pods still on them), since the process that admitted them is gone.
   */
  async resumed(nodes: readonly string[]): Promise<void> {
    if (nodes.length === 0) return;
    const byLabel = this.budgetIndex(await this.budgets());
    for (const node of nodes)
      this.read.set(node, budgetsOfPods(await this.ctx.cluster.listPodsOnNode(node), byLabel));
  }

  /** The budgets as the flow's watch last saw them, or listed when it has none (yet). */
  private async budgets(): Promise<readonly V1PodDisruptionBudget[]> {
    return this.ctx.budgetWatch?.budgets() ?? (await this.ctx.cluster.listDisruptionBudgets());
  }

  /** The node entered the flow: its drain's evictions now count against later candidates. */
  admitted(node: string): void {
    this.left(node);
    this.lastRead.delete(node);
    const pods = this.read.get(node) ?? new Map();
    this.inFlight.set(node, pods);
    for (const pod of pods.values()) this.count(pod, 1);
  }

  /**
   * The node's drain reported: only the pods whose eviction the API has not accepted yet still count. Note:
   * an accepted eviction (the pod terminating) has taken its disruption already: the budget's
   * disruptionsAllowed says so, and counting the pod again would judge its budget twice as busy. Its
   * budgets' disruption is due back a start-up after the eviction, or for a StatefulSet after it is gone.
   */
  progress(node: string, progress: DrainProgress): void {
    const pods = this.inFlight.get(node);
    if (!pods) return;
    const now = this.ctx.clock.now();
    const startup = this.startupMs;
    const left = new Set<string>();
    for (const p of progress.pending) if (p.reason !== 'terminating') left.add(podKey(p.pod));
    for (const [key, pod] of pods) {
      if (left.has(key)) continue;
      pods.delete(key);
      this.count(pod, -1);
      this.terminating.set(key, { ...pod, since: now });
      const at = now + startup + (pod.statefulSet ? this.stopMs() : 0);
      for (const b of pod.budgets) this.dueBack.set(b, Math.max(this.dueBack.get(b) ?? 0, at));
    }
    for (const ref of progress.evicted) {
      const key = podKey(ref);
      const pod = this.terminating.get(key);
      if (!pod) continue;
      this.terminating.delete(key);
      if (now > pod.since)
        this.stops = { total: this.stops.total + now - pod.since, count: this.stops.count + 1 };
      if (pod.statefulSet) for (const b of pod.budgets) this.dueBack.set(b, now + startup);
    }
  }

  left(node: string): void {
    for (const pod of this.inFlight.get(node)?.values() ?? []) this.count(pod, -1);
    this.inFlight.delete(node);
  }

  /** Counts a pod of a drain in flight in (1) or out (-1) of its budgets' `draining`. */
  private count(pod: BudgetedPod, by: 1 | -1): void {
    for (const b of pod.budgets) {
      const n = (this.draining.get(b) ?? 0) + by;
      if (n > 0) this.draining.set(b, n);
      else this.draining.delete(b);
    }
  }
}

/** Why a candidate was passed over, for the run's log and the node's row. */
export function describeVerdict(node: string, verdict: AdmissionVerdict): string {
  switch (verdict.kind) {
    case 'clear':
      return `${node}: its evictions can all go through now`;
    case 'recovering':
      return `${node}: budget ${verdict.budget} allows no disruption now`;
    case 'contended':
      return `${node}: a drain in flight has yet to evict pods of budget ${verdict.budget}`;
  }
}

function podKey(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

/** The pods a drain would evict while they are healthy (namespace/name) → the budgets selecting each. */
function budgetsOfPods(pods: readonly Pod[], budgets: BudgetsByLabel) {
  const out = new Map<string, BudgetedPod>();
  for (const pod of pods) {
    if (!isEvictable(pod) || !isPodReady(pod)) continue;
    const keys = budgets.selecting(pod);
    const statefulSet =
      pod.metadata.ownerReferences?.some((o) => o.controller && o.kind === 'StatefulSet') ?? false;
    if (keys.length > 0)
      out.set(`${pod.metadata.namespace}/${pod.metadata.name}`, { budgets: keys, statefulSet });
  }
  return out;
}

function countPerBudget(pods: ReadonlyMap<string, BudgetedPod>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const pod of pods.values()) for (const k of pod.budgets) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
}
