/**
 * The budgets that may select a pod, found through the label pair each budget's selector requires (core's
 * selectorAnchor) instead of matching the pod against every budget of the cluster: admission reads a few
 * pods per candidate node on every choice, and a cluster of 5,000 nodes has some 800 budgets.
 */
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import { selectorAnchor } from '../core/index.ts';
import { budgetSelects, type LabelledPod } from '../kube/index.ts';

type Filed = { position: number; budget: V1PodDisruptionBudget };

export class BudgetsByLabel {
  /** "namespace/key=value" → budgets anchored on that pair. */
  private readonly anchored = new Map<string, Filed[]>();
  /** namespace → budgets with no anchor (candidates for every pod of the namespace). */
  private readonly unanchored = new Map<string, Filed[]>();

  constructor(budgets: readonly V1PodDisruptionBudget[]) {
    budgets.forEach((budget, position) => {
      const namespace = budget.metadata?.namespace ?? '';
      const anchor = selectorAnchor(budget.spec?.selector as never);
      const key = anchor ? `${namespace}/${anchor.key}=${anchor.value}` : namespace;
      const filed = anchor ? this.anchored : this.unanchored;
      const list = filed.get(key);
      if (list) list.push({ position, budget });
      else filed.set(key, [{ position, budget }]);
    });
  }

  /** The budgets selecting the pod, in the order they were given (as filtering them all would give). */
  selecting(pod: LabelledPod): V1PodDisruptionBudget[] {
    const namespace = pod.metadata?.namespace ?? '';
    const candidates = [...(this.unanchored.get(namespace) ?? [])];
    for (const [key, value] of Object.entries(pod.metadata?.labels ?? {}))
      candidates.push(...(this.anchored.get(`${namespace}/${key}=${value}`) ?? []));
    if (candidates.length > 1) candidates.sort((a, b) => a.position - b.position);
    return candidates.filter((c) => budgetSelects(c.budget, pod)).map((c) => c.budget);
  }
}
