import type { V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { BudgetsByLabel } from '../../src/kube/budgets-by-label.ts';
import { budgetSelects } from '../../src/kube/index.ts';

const budget = (namespace: string, name: string, selector: V1PodDisruptionBudget['spec']) =>
  ({ metadata: { namespace, name }, spec: selector }) as V1PodDisruptionBudget;
const pod = (namespace: string, labels: Record<string, string>) =>
  ({ metadata: { namespace, name: 'p', labels } }) as V1Pod;

const BUDGETS = [
  budget('shop', 'web', { selector: { matchLabels: { app: 'web' } } }),
  budget('shop', 'web-canary', { selector: { matchLabels: { track: 'canary', app: 'web' } } }),
  budget('shop', 'copied', {
    selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] },
  }),
  budget('shop', 'any-tier', { selector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }),
  budget('shop', 'everything', { selector: {} }),
  budget('shop', 'nothing', {}),
  budget('data', 'web-elsewhere', { selector: { matchLabels: { app: 'web' } } }),
];

describe('BudgetsByLabel', () => {
  it.each([
    ['a web pod', pod('shop', { app: 'web' })],
    ['a canary web pod with a tier', pod('shop', { app: 'web', track: 'canary', tier: 'front' })],
    ['a pod of another app', pod('shop', { app: 'api' })],
    ['a pod with no labels', pod('shop', {})],
    ['a web pod of another namespace', pod('data', { app: 'web' })],
    ['a pod of a namespace with no budget', pod('jobs', { app: 'web' })],
  ])('finds for %s what matching every budget finds, in the same order', (_name, p) => {
    const expected = BUDGETS.filter((b) => budgetSelects(b, p)).map(
      (b) => `${b.metadata!.namespace}/${b.metadata!.name}`,
    );
    expect(new BudgetsByLabel(BUDGETS).selecting(p)).toEqual(expected);
  });
});

describe('BudgetsByLabel.indexes', () => {
  const issued = (b: V1PodDisruptionBudget, uid: string, generation?: number) =>
    ({ ...b, metadata: { ...b.metadata, uid, generation } }) as V1PodDisruptionBudget;
  const built = BUDGETS.map((b, i) => issued(b, `uid-${i}`, 1));
  const withStatus = (b: V1PodDisruptionBudget) =>
    ({ ...b, status: { disruptionsAllowed: 0 } }) as V1PodDisruptionBudget;
  it.each([
    ['the same budgets', built, true],
    ['the same budgets with their status changed', built.map(withStatus), true],
    [
      'a budget whose spec changed (generation moved)',
      built.map((b, i) => (i === 2 ? issued(b, 'uid-2', 2) : b)),
      false,
    ],
    [
      'a budget deleted and created again (new UID)',
      built.map((b, i) => (i === 2 ? issued(b, 'uid-new', 1) : b)),
      false,
    ],
    ['one budget fewer', built.slice(1), false],
    ['one budget more', [...built, issued(budget('shop', 'more', {}), 'uid-more', 1)], false],
    ['a budget without a generation', built.map((b, i) => (i === 2 ? issued(b, 'uid-2') : b)), false],
  ])('with %s: %s', (_name, now, expected) => {
    expect(new BudgetsByLabel(built).indexes(now as V1PodDisruptionBudget[])).toBe(expected);
  });

  it('answers yes for the very objects it was built from, and no for copies of them without a generation', () => {
    const index = new BudgetsByLabel(BUDGETS);
    expect(index.indexes(BUDGETS)).toBe(true);
    expect(index.indexes(BUDGETS.map((b) => ({ ...b }) as V1PodDisruptionBudget))).toBe(false);
  });
});
