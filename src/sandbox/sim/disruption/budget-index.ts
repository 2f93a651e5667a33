import { selectorAnchor } from '../../../core/index.ts';
import { R } from '../../api/resources.ts';
import type { ObjectStore } from '../../store/object-store.ts';
import type { KubeObject, StoreEvent } from '../../store/types.ts';
import { namespaceIndex } from './namespace-index.ts';

/**
 * Finds, without scanning a whole namespace, the pods a PodDisruptionBudget may select and the budgets that
 * may select a pod. A budget with `matchLabels` (else a one-value `In` expression, as a copied cluster's
 * budgets have: src/rehearse) is anchored on one pair (key=value); pods are
 * indexed by the values of anchor keys only, so the index costs one entry per pod per anchor key in use
 * (typically just `app`).
 *
 * Both lookups return candidates, a superset of the answer: callers still match the full selector. A budget
 * without an anchor (other expressions only, empty or invalid selector) is a candidate for every pod of its
 * namespace, and its candidate pods are the whole namespace.
 *
 * Why: the large scenario has 1,000 budgets over 45,000 pods in one namespace; matching every pod against
 * every budget on each pod change, or every pod of the namespace on each budget sync, kept the event loop
 * busy for minutes.
 */
export class BudgetIndex {
  /** namespace → "key=value" → budget key → budget. */
  private readonly anchored = new Map<string, Map<string, Map<string, KubeObject>>>();
  /** namespace → budget key → budget, for budgets without an anchor. */
  private readonly unanchored = new Map<string, Map<string, KubeObject>>();
  /** budget key → where it is filed ("" when unanchored). */
  private readonly anchorOf = new Map<string, string>();
  /** namespace → anchor key → value → pod name → pod. */
  private readonly pods = new Map<string, Map<string, Map<string, Map<string, KubeObject>>>>();

  constructor(private readonly store: ObjectStore) {
    // Note: subscribed before the initial load; events are synchronous, so none can be missed in between.
    store.onChange((event) => {
      if (event.resource === R.pods) this.onPod(event);
      else if (event.resource === R.pdbs) this.onBudget(event);
    });
    for (const pdb of store.list(R.pdbs)) this.addBudget(pdb);
  }

  /** Budgets of the pod's namespace that may select it. */
  candidateBudgets(pod: KubeObject): KubeObject[] {
    const namespace = pod.metadata.namespace ?? '';
    const out: KubeObject[] = [...(this.unanchored.get(namespace)?.values() ?? [])];
    const byPair = this.anchored.get(namespace);
    if (byPair) {
      for (const [key, value] of Object.entries(pod.metadata.labels ?? {})) {
        const budgets = byPair.get(pair(key, value));
        if (budgets) out.push(...budgets.values());
      }
    }
    return out;
  }

  /** Pods of the budget's namespace that it may select. */
  candidatePods(pdb: KubeObject): KubeObject[] {
    const namespace = pdb.metadata.namespace ?? '';
    const anchor = anchorOf(pdb);
    if (!anchor) return namespaceIndex(this.store, R.pods).list(namespace);
    const byValue = this.ensurePodKey(namespace, anchor.key);
    return [...(byValue.get(anchor.value)?.values() ?? [])];
  }

  private onBudget(event: StoreEvent): void {
    this.removeBudget(event.previous ?? event.object);
    if (event.type !== 'DELETED') this.addBudget(event.object);
  }

  private addBudget(pdb: KubeObject): void {
    const namespace = pdb.metadata.namespace ?? '';
    const key = pdb.metadata.name ?? '';
    const anchor = anchorOf(pdb);
    if (!anchor) {
      getOrCreate(this.unanchored, namespace, () => new Map()).set(key, pdb);
      this.anchorOf.set(`${namespace}/${key}`, '');
      return;
    }
    this.ensurePodKey(namespace, anchor.key);
    const byPair = getOrCreate(this.anchored, namespace, () => new Map());
    getOrCreate(byPair, pair(anchor.key, anchor.value), () => new Map()).set(key, pdb);
    this.anchorOf.set(`${namespace}/${key}`, pair(anchor.key, anchor.value));
  }

  private removeBudget(pdb: KubeObject): void {
    const namespace = pdb.metadata.namespace ?? '';
    const key = pdb.metadata.name ?? '';
    const filed = this.anchorOf.get(`${namespace}/${key}`);
    if (filed === undefined) return;
    this.anchorOf.delete(`${namespace}/${key}`);
    if (filed === '') {
      this.unanchored.get(namespace)?.delete(key);
      return;
    }
    const budgets = this.anchored.get(namespace)?.get(filed);
    budgets?.delete(key);
    if (budgets?.size === 0) this.anchored.get(namespace)?.delete(filed);
  }

  /** The pod index of one anchor key in one namespace, built from the namespace's pods on first use. */
  private ensurePodKey(namespace: string, key: string): Map<string, Map<string, KubeObject>> {
    const byKey = getOrCreate(this.pods, namespace, () => new Map());
    let byValue = byKey.get(key);
    if (!byValue) {
      byValue = new Map();
      byKey.set(key, byValue);
      for (const pod of namespaceIndex(this.store, R.pods).list(namespace)) {
        const value = pod.metadata.labels?.[key];
        if (value !== undefined)
          getOrCreate(byValue, value, () => new Map()).set(pod.metadata.name ?? '', pod);
      }
    }
    return byValue;
  }

  private onPod(event: StoreEvent): void {
    const namespace = event.object.metadata.namespace ?? '';
    const byKey = this.pods.get(namespace);
    if (!byKey) return;
    const name = event.object.metadata.name ?? '';
    const before = event.previous?.metadata.labels;
    const after = event.type === 'DELETED' ? undefined : (event.object.metadata.labels ?? {});
    for (const [key, byValue] of byKey) {
      const old = before?.[key];
      const now = after?.[key];
      if (old !== undefined && old !== now) {
        const pods = byValue.get(old);
        pods?.delete(name);
        if (pods?.size === 0) byValue.delete(old);
      }
      if (now !== undefined) getOrCreate(byValue, now, () => new Map()).set(name, event.object);
    }
  }
}

/** The pair a budget is filed under (core's selectorAnchor); none when its selector has no anchor. */
function anchorOf(pdb: KubeObject): { key: string; value: string } | undefined {
  return selectorAnchor(pdb.spec?.selector);
}

function pair(key: string, value: string): string {
  return `${key}=${value}`;
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

const indexes = new WeakMap<ObjectStore, BudgetIndex>();

/** The shared budget index of `store`, built on first use (it lives as long as the store). */
export function budgetIndex(store: ObjectStore): BudgetIndex {
  let index = indexes.get(store);
  if (!index) {
    index = new BudgetIndex(store);
    indexes.set(store, index);
  }
  return index;
}
