/**
 * The budget index finds the same budgets and pods a full scan would, for every selector form: a budget
 * anchored on a matchLabels pair or a one-value `In` expression is looked up by that pair, any other
 * selector is a candidate for its whole namespace, and a pod whose label changes moves with it.
 */
import { describe, expect, it } from 'vitest';
import { matchesLabelSelector, VirtualClock } from '../../../src/core/index.ts';
import { R } from '../../../src/sandbox/api/resources.ts';
import { BudgetIndex } from '../../../src/sandbox/sim/disruption/budget-index.ts';
import { ObjectStore } from '../../../src/sandbox/store/object-store.ts';

const pod = (name: string, labels: Record<string, string>, namespace = 'shop') => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { containers: [{ name: 'c', image: 'i' }] },
});
const budget = (name: string, selector: Record<string, unknown>) => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name, namespace: 'shop' },
  spec: { selector, maxUnavailable: 1 },
});

describe('BudgetIndex', () => {
  it.each([
    ['matchLabels', { matchLabels: { app: 'web' } }],
    ['a one-value In expression', { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }],
    [
      'a two-value In expression',
      { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'x'] }] },
    ],
    [
      'an In expression beside another requirement',
      {
        matchExpressions: [
          { key: 'tier', operator: 'Exists' },
          { key: 'app', operator: 'In', values: ['web'] },
        ],
      },
    ],
    ['an Exists expression', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }],
  ])('with %s, finds every budget and pod a full scan finds, as labels change', (_, selector) => {
    const store = new ObjectStore(new VirtualClock(0));
    store.create(R.pdbs, budget('b', selector));
    const index = new BudgetIndex(store);
    store.create(R.pods, pod('web-1', { app: 'web', tier: 'front' }));
    store.create(R.pods, pod('api-1', { app: 'api' }));
    store.create(R.pods, pod('web-other', { app: 'web', tier: 'front' }, 'other'));
    store.mutate(R.pods, 'shop', 'api-1', (p) => {
      p.metadata.labels = { app: 'web', tier: 'back' };
    });
    const pdb = store.get(R.pdbs, 'shop', 'b')!;
    const selects = (p: { metadata: { namespace?: string; labels?: Record<string, string> } }) =>
      p.metadata.namespace === 'shop' && matchesLabelSelector(pdb.spec.selector, p.metadata.labels);
    const expected = store
      .list(R.pods)
      .filter(selects)
      .map((p) => p.metadata.name)
      .sort();
    const found = index
      .candidatePods(pdb)
      .filter(selects)
      .map((p) => p.metadata.name)
      .sort();
    expect(found).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
    for (const p of store.list(R.pods))
      expect(index.candidateBudgets(p).some((b) => b.metadata.name === 'b') || !selects(p)).toBe(true);
  });
});

describe('BudgetIndex lookups', () => {
  // Why it matters: a copied cluster's budgets (src/rehearse) select by a one-value In; unanchored, every
  // pod change would be matched against every budget of its namespace.
  it('looks a one-value In budget up by its pair, not the whole namespace', () => {
    const store = new ObjectStore(new VirtualClock(0));
    store.create(
      R.pdbs,
      budget('b', { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }),
    );
    const index = new BudgetIndex(store);
    store.create(R.pods, pod('web-1', { app: 'web' }));
    store.create(R.pods, pod('api-1', { app: 'api' }));
    const pdb = store.get(R.pdbs, 'shop', 'b')!;
    expect(index.candidatePods(pdb).map((p) => p.metadata.name)).toEqual(['web-1']);
    expect(index.candidateBudgets(store.get(R.pods, 'shop', 'api-1')!)).toEqual([]);
  });
});
