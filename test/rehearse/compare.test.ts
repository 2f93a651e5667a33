/**
 * `rehearse --compare`: the values it accepts, the policy each rehearsal runs, and a comparison on the demo
 * cluster's captured snapshot whose recommendation is the faster pace that keeps every budget.
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
  withMaxUnavailable,
} from '../../src/rehearse/index.ts';
import { runCli } from '../cli/run-cli.ts';

function policyOf(data: Record<string, unknown>) {
  const result = validatePolicy(data, 'policy.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

describe('rehearse --compare', () => {
  it.each([
    ['1,2,10%', [1, 2, '10%']],
    [' 3 , 50% ', [3, '50%']],
  ])('reads %j', (text, values) => {
    expect(parseCompareValues(text)).toEqual(values);
  });

  it.each(['0', '0%', 'two', '1,,2', '-1', '1.5'])('refuses %j, naming it', (text) => {
    expect(() => parseCompareValues(text)).toThrow(/is not a maxUnavailable/);
  });

  it.each([
    [['--compare', '0'], /--compare: "0" is not a maxUnavailable/],
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
      [1, 3],
    );
    const [one, three] = comparison.entries.map((e) => e.report);
    expect(one!.outcome.finishes && three!.outcome.finishes).toBe(true);
    expect(one!.violations + three!.violations).toBe(0);
    expect(three!.nodePhase!.medianSeconds).toBeLessThan(one!.nodePhase!.medianSeconds);
    expect(comparison.recommended).toBe(3);
  }, 300_000);
});
