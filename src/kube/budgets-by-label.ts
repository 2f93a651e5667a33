/**
 * The budgets that may select a pod, found through the label pair each budget's selector requires (core's
 * selectorAnchor) instead of matching the pod against every budget of the cluster: admission reads a few
 * pods per candidate node on every choice, a drain with a budget watch looks up every pod it evicts, and a
 * cluster of 5,000 nodes has some 800 budgets.
 *
 * An index answers from the selectors it was built with; `indexes` says whether it still holds for the budgets
 * as they are now, so a caller builds it again only when a budget came, went or had its spec changed (not on
 * every status change: a budget's status moves with every eviction, its selector hardly ever).
 */
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import { selectorAnchor } from '../core/index.ts';
import { budgetSelects, type LabelledPod } from './drain.ts';

type Filed = { position: number; key: string; budget: V1PodDisruptionBudget };

/**
 * Each budget object's key, computed once: a watch hands the same object until the budget changes, and
 * admission keys every budget on every choice.
 */
const keys = new WeakMap<V1PodDisruptionBudget, string>();

/** A budget's name as admission counts it: namespace/name. */
export function budgetKey(pdb: V1PodDisruptionBudget): string {
  let key = keys.get(pdb);
  if (key === undefined) {
    key = `${pdb.metadata?.namespace ?? 'default'}/${pdb.metadata?.name ?? ''}`;
    keys.set(pdb, key);
  }
  return key;
}

export class BudgetsByLabel {
  /** "namespace/key=value" → budgets anchored on that pair. */
  private readonly anchored = new Map<string, Filed[]>();
  /** namespace → budgets with no anchor (candidates for every pod of the namespace). */
  private readonly unanchored = new Map<string, Filed[]>();
  /** Per budget (its key), the object and spec generation its selector was filed from. */
  private readonly filedFrom = new Map<string, { uid?: string; generation?: number }>();
  /** Budget objects already found to be as filed (a watch hands the same object until the budget changes). */
  private readonly asFiled = new WeakSet<V1PodDisruptionBudget>();

  constructor(budgets: readonly V1PodDisruptionBudget[]) {
    budgets.forEach((budget, position) => {
      const namespace = budget.metadata?.namespace ?? '';
      const anchor = selectorAnchor(budget.spec?.selector as never);
      const key = anchor ? `${namespace}/${anchor.key}=${anchor.value}` : namespace;
      const filed = anchor ? this.anchored : this.unanchored;
      const entry = { position, key: budgetKey(budget), budget };
      const list = filed.get(key);
      if (list) list.push(entry);
      else filed.set(key, [entry]);
      this.filedFrom.set(entry.key, { uid: budget.metadata?.uid, generation: budget.metadata?.generation });
      this.asFiled.add(budget);
    });
  }

  /**
   * Whether this index answers for `budgets` as it did for those it was built from: the same budgets (names
   * and UIDs), none with its spec changed since (metadata.generation, which the API server moves on every
   * spec change and never on a status change). An object seen before is not looked at again: a watch's cache
   * replaces a budget's object when it changes, never edits it. Note: fails closed: a budget without a
   * generation or a UID (never so from an API server) makes the answer no, unless it is an object the index
   * was built from.
   */
  indexes(budgets: readonly V1PodDisruptionBudget[]): boolean {
    if (budgets.length !== this.filedFrom.size) return false;
    return budgets.every((budget) => this.files(budget));
  }

  /** Whether this budget is filed here with the spec it has now (as `indexes` judges each budget). */
  files(budget: V1PodDisruptionBudget): boolean {
    if (this.asFiled.has(budget)) return true;
    const filed = this.filedFrom.get(budgetKey(budget));
    const { uid, generation } = budget.metadata ?? {};
    if (uid === undefined || generation === undefined) return false;
    if (filed?.uid !== uid || filed.generation !== generation) return false;
    this.asFiled.add(budget);
    return true;
  }

  /**
   * The keys (namespace/name) of the budgets selecting the pod, in the order the budgets were given (as
   * filtering them all would give).
   */
  selecting(pod: LabelledPod): string[] {
    const namespace = pod.metadata?.namespace ?? '';
    const candidates = [...(this.unanchored.get(namespace) ?? [])];
    for (const [key, value] of Object.entries(pod.metadata?.labels ?? {}))
      candidates.push(...(this.anchored.get(`${namespace}/${key}=${value}`) ?? []));
    if (candidates.length > 1) candidates.sort((a, b) => a.position - b.position);
    return candidates.filter((c) => budgetSelects(c.budget, pod)).map((c) => c.key);
  }
}
