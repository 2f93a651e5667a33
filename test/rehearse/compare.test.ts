/**
 * `rehearse --compare`: the values it accepts, the policy each rehearsal runs, a comparison on the demo
 * cluster's captured snapshot whose recommendation is the faster pace that keeps every budget, and one of
 * Midflight against the loops people run today (one node at a time, fixed concurrency with kubectl drain)
 * and surge on a small budget-heavy cluster.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ClusterSnapshot, parseVersion } from '../../src/core/index.ts';
import { validatePolicy } from '../../src/plan/index.ts';
import {
  compareRehearsals,
  parseCompareValues,
  rehearsalTimings,
  renderComparison,
  withMaxUnavailable,
  withSurge,
} from '../../src/rehearse/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

function policyOf(data: Record<string, unknown>) {
  const result = validatePolicy(data, 'policy.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

describe('rehearse --compare', () => {
  it.each([
    ['1,2,10%', [1, 2, '10%']],
    [' 3 , 50% ', [3, '50%']],
    ['surge,surge:2,one-at-a-time,fixed:4', ['surge', 'surge:2', 'one-at-a-time', 'fixed:4']],
  ])('reads %j', (text, values) => {
    expect(parseCompareValues(text).map((v) => v.value)).toEqual(values);
  });

  it('tells each value its method', () => {
    expect(parseCompareValues('2,10%,surge,surge:3,one-at-a-time,fixed:4').map((v) => v.method)).toEqual([
      { kind: 'midflight', maxUnavailable: 2 },
      { kind: 'midflight', maxUnavailable: '10%' },
      { kind: 'surge', maxSurge: 1 },
      { kind: 'surge', maxSurge: 3 },
      { kind: 'peer', concurrency: 1 },
      { kind: 'peer', concurrency: 4 },
    ]);
  });

  it.each(['0', '0%', 'two', '1,,2', '-1', '1.5', 'fixed', 'fixed:0', 'fixed:x', 'surge:0', 'surges'])(
    'refuses %j, naming it',
    (text) => {
      expect(() => parseCompareValues(text)).toThrow(/is not a value to compare: a maxUnavailable/);
    },
  );

  it.each([
    [['--compare', '0'], /--compare: "0" is not a value to compare/],
    [['--runs', '0'], /--runs "0" must be a whole number from 1 to 100/],
    [['--seed', 'x'], /--seed "x" must be a whole number/],
    [['-o', 'yaml'], /unknown output format "yaml": use one of table, json, markdown/],
  ])('refuses %j before reading the cluster (exit 2)', async (args, message) => {
    const { code, stderr } = await runCli(
      '--kubeconfig',
      '/nonexistent/kubeconfig',
      'rehearse',
      '--to',
      '1.31',
      ...args,
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('sets the value for the defaults and for every pool that sets its own', () => {
    const policy = policyOf({
      defaults: { maxUnavailable: 1 },
      pools: [{ name: 'general', maxUnavailable: 2 }, { name: 'compute' }],
    });
    const changed = withMaxUnavailable(policy, '10%');
    expect(changed.defaults.maxUnavailable).toBe('10%');
    expect(changed.pools).toEqual([{ name: 'general', maxUnavailable: '10%' }, { name: 'compute' }]);
    expect(policy.defaults.maxUnavailable).toBe(1);
  });

  it('recommends the faster pace on demo when both keep every budget', async () => {
    const path = fileURLToPath(new URL('../fixtures/snapshots/demo.json', import.meta.url));
    const snapshot = JSON.parse(readFileSync(path, 'utf8')) as ClusterSnapshot;
    const policy = policyOf({
      canary: { nodes: 0 },
      drain: { force: true, deleteEmptyDirData: true },
      timings: { nodeDrain: '1s', nodeUpgrade: '30s', podStartup: '5s', waveSoak: '0s' },
      provider: { kind: 'command', command: 'true' },
    });
    const comparison = await compareRehearsals(
      {
        snapshot,
        target: parseVersion('v1.31.2'),
        policy,
        timings: rehearsalTimings(policy, ['nodeDrain', 'nodeUpgrade', 'podStartup']),
        runs: 1,
        seed: 3,
        now: Date.UTC(2026, 0, 15, 10),
      },
      parseCompareValues('1,3'),
    );
    const [one, three] = comparison.entries.map((e) => e.report);
    expect(one!.outcome.finishes && three!.outcome.finishes).toBe(true);
    expect(one!.violations + three!.violations).toBe(0);
    expect(three!.nodePhase!.medianSeconds).toBeLessThan(one!.nodePhase!.medianSeconds);
    expect(comparison.recommended).toBe(3);
  }, 300_000);

  it('surge replaces every pool: new nodes first, none out before its replacement', () => {
    const policy = policyOf({
      defaults: { maxUnavailable: 2 },
      pools: [{ name: 'general', maxUnavailable: 3, strategy: 'in-place' }],
    });
    const surge = withSurge(policy, 2);
    expect(surge.defaults).toMatchObject({ strategy: 'surge', maxSurge: 2, maxUnavailable: 0 });
    expect(surge.pools).toEqual([{ name: 'general', strategy: 'surge', maxSurge: 2, maxUnavailable: 0 }]);
    expect(surge.nodeProvider).toEqual({ kind: 'sandbox' });
  });

  it('rehearses the loops people run today and surge beside Midflight, and recommends the fastest', async () => {
    // Four workers; web and api spread over them, each budget allowing one disruption.
    const b = new ClusterBuilder('v1.31.2').controlPlane('cp-1');
    const workers = ['w-01', 'w-02', 'w-03', 'w-04'];
    for (const n of workers) b.node(n, { pool: 'general', kubelet: 'v1.30.1', cpu: '8' });
    for (const app of ['web', 'api']) {
      b.workload('shop', app, { replicas: 4, on: workers, cpu: '250m' });
      b.pdb('shop', app, app, { maxUnavailable: 1 }, { disruptionsAllowed: 1 });
    }
    const policy = policyOf({
      canary: { nodes: 0 },
      timings: { nodeDrain: '1s', nodeUpgrade: '30s', podStartup: '5s', waveSoak: '0s' },
      provider: { kind: 'command', command: 'true' },
    });
    const comparison = await compareRehearsals(
      {
        snapshot: b.build(),
        target: parseVersion('v1.31.2'),
        policy,
        timings: rehearsalTimings(policy, ['nodeDrain', 'nodeUpgrade', 'podStartup']),
        runs: 1,
        seed: 5,
        now: Date.UTC(2026, 0, 15, 10),
      },
      parseCompareValues('2,surge,one-at-a-time,fixed:2'),
    );
    const byValue = new Map(comparison.entries.map((e) => [e.value, e]));
    for (const e of comparison.entries) {
      expect({ value: e.value, outcome: e.report.outcome, violations: e.report.violations }).toEqual({
        value: e.value,
        outcome: { finishes: true, runsSucceeded: 1 },
        violations: 0,
      });
      expect(e.report.nodePhase!.medianSeconds).toBeGreaterThan(0);
      // Midflight's runs never go under the plan's lower bound; a peer follows no plan.
      if (e.method.kind === 'peer') expect(e.report.plan).toBeNull();
      else
        expect(e.report.nodePhase!.medianSeconds).toBeGreaterThanOrEqual(
          e.report.plan!.nodePhaseLowerBoundSeconds,
        );
    }
    // The JSON: each entry's value and method; maxUnavailable only where the value is one.
    expect(comparison.entries.map((e) => [e.value, e.method.kind, e.maxUnavailable])).toEqual([
      [2, 'midflight', 2],
      ['surge', 'surge', undefined],
      ['one-at-a-time', 'peer', undefined],
      ['fixed:2', 'peer', undefined],
    ]);
    // The loops: the workers alone, four nodes one after another or two at a time.
    const one = byValue.get('one-at-a-time')!.report;
    const fixed = byValue.get('fixed:2')!.report;
    expect(one.timeline.map((t) => t.node).sort()).toEqual(workers);
    expect(one.notes.join(' ')).toMatch(/one node at a time with kubectl drain semantics/);
    expect(fixed.nodePhase!.medianSeconds).toBeLessThan(one.nodePhase!.medianSeconds);
    // Surge replaced the workers: none is left behind.
    expect(byValue.get('surge')!.report.nodesNotUpgraded).toEqual([]);
    // The recommendation: the fastest node phase of them all, named with its method.
    const fastest = [...comparison.entries].sort(
      (x, y) => x.report.nodePhase!.medianSeconds - y.report.nodePhase!.medianSeconds,
    )[0]!;
    expect(comparison.recommended).toBe(fastest.value);
    const table = renderComparison(comparison, 'table');
    expect(table).toContain('fixed concurrency 2 (kubectl drain)');
    expect(table).toContain(`recommended: ${fastest.value} (`);
  }, 300_000);
});
