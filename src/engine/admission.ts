/**
 * The live side of a wave's admission (core/admission.ts decides): when a slot frees, what each candidate's
 * drain would evict, per budget, and what each budget allows now, read from the cluster; what the drains in
 * flight have yet to evict, kept from their progress.
 *
 * Note: candidates are read one at a time in the plan's order and reading stops at the first whose
 * evictions can all go through now, so a wave whose plan order holds costs one pod list per node. At most
 * CANDIDATES_READ are read for one choice: the plan put the nodes in an order that keeps budgets apart,
 * and a candidate far down it is rarely better than one read already.
 */
import type { V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';
import {
  type AdmissionCandidate,
  type AdmissionChoice,
  type AdmissionVerdict,
  chooseNextNode,
  isEvictable,
  isPodReady,
  judgeCandidate,
  type Pod,
} from '../core/index.ts';
import type { DrainProgress } from '../kube/index.ts';
import { BudgetsByLabel } from './budgets-by-label.ts';
import type { RunContext } from './run-context.ts';

const CANDIDATES_READ = 8;

export class WaveAdmission {
  /** Per node in flight: its pods yet to evict (namespace/name) → the budgets selecting each. */
  private readonly inFlight = new Map<string, Map<string, string[]>>();
  /** What the last choice read of each candidate, kept for the one admitted. */
  private readonly read = new Map<string, Map<string, string[]>>();

  constructor(private readonly ctx: RunContext) {}

  /** The next node among `waiting` (in the plan's order); undefined when it is empty. */
  async choose(waiting: readonly string[]): Promise<AdmissionChoice | undefined> {
    if (waiting.length === 0) return undefined;
    const budgets = await this.budgets();
    const byLabel = new BudgetsByLabel(budgets);
    const allowed = new Map(budgets.map((b) => [budgetKey(b), b.status?.disruptionsAllowed ?? 0]));
    const draining = new Map<string, number>();
    for (const pods of this.inFlight.values())
      for (const keys of pods.values()) for (const k of keys) draining.set(k, (draining.get(k) ?? 0) + 1);
    this.read.clear();
    const candidates: AdmissionCandidate[] = [];
    for (const node of waiting.slice(0, CANDIDATES_READ)) {
      const pods = budgetsOfPods(await this.ctx.cluster.listPodsOnNode(node), byLabel);
      this.read.set(node, pods);
      const candidate = { node, evictions: countPerBudget(pods) };
      candidates.push(candidate);
      if (judgeCandidate(candidate, { candidates, allowed, draining }).kind === 'clear') break;
    }
    return chooseNextNode({ candidates, allowed, draining });
  }

  /**
   * Nodes a resumed wave takes back before any other: what their drains may still evict is read from the
   * cluster (the pods still on them), since the process that admitted them is gone.
   */
  async resumed(nodes: readonly string[]): Promise<void> {
    if (nodes.length === 0) return;
    const byLabel = new BudgetsByLabel(await this.budgets());
    for (const node of nodes)
      this.read.set(node, budgetsOfPods(await this.ctx.cluster.listPodsOnNode(node), byLabel));
  }

  /** The budgets as the flow's watch last saw them, or listed when it has none (yet). */
  private async budgets(): Promise<readonly V1PodDisruptionBudget[]> {
    return this.ctx.budgetWatch?.budgets() ?? (await this.ctx.cluster.listDisruptionBudgets());
  }

  /** The node entered the flow: its drain's evictions now count against later candidates. */
  admitted(node: string): void {
    this.inFlight.set(node, this.read.get(node) ?? new Map());
  }

  /** The node's drain reported: only the pods it has not evicted yet still count. */
  progress(node: string, progress: DrainProgress): void {
    const pods = this.inFlight.get(node);
    if (!pods) return;
    const left = new Set(progress.pending.map((p) => `${p.pod.namespace}/${p.pod.name}`));
    for (const key of pods.keys()) if (!left.has(key)) pods.delete(key);
  }

  left(node: string): void {
    this.inFlight.delete(node);
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

function budgetKey(pdb: V1PodDisruptionBudget): string {
  return `${pdb.metadata?.namespace ?? 'default'}/${pdb.metadata?.name ?? ''}`;
}

/** The pods a drain would evict while they are healthy (namespace/name) → the budgets selecting each. */
function budgetsOfPods(pods: readonly V1Pod[], budgets: BudgetsByLabel) {
  const out = new Map<string, string[]>();
  for (const pod of pods) {
    // Note: the core rules read the fields a V1Pod and a snapshot's Pod share (metadata, spec, status).
    const p = pod as unknown as Pod;
    if (!isEvictable(p) || !isPodReady(p)) continue;
    const keys = budgets.selecting(pod).map(budgetKey);
    if (keys.length > 0) out.set(`${pod.metadata?.namespace}/${pod.metadata?.name}`, keys);
  }
  return out;
}

function countPerBudget(pods: ReadonlyMap<string, string[]>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const keys of pods.values()) for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
}
