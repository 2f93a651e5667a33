import type { V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { BudgetsByLabel } from '../../src/engine/budgets-by-label.ts';
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
    const expected = BUDGETS.filter((b) => budgetSelects(b, p)).map((b) => b.metadata!.name);
    expect(new BudgetsByLabel(BUDGETS).selecting(p).map((b) => b.metadata!.name)).toEqual(expected);
  });
});
