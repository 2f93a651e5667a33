/**
 * The report's arithmetic (median and nearest-rank p90) and its text forms: a terminal's table and a change
 * ticket's Markdown carry the facts of the JSON form.
 */
import { describe, expect, it } from 'vitest';
import {
  type RehearsalReport,
  renderReportMarkdown,
  renderReportTable,
  spreadOf,
} from '../../src/rehearse/index.ts';

describe('spreadOf', () => {
  it.each([
    [[], null],
    [[60_000], { medianSeconds: 60, p90Seconds: 60 }],
    [[10_000, 30_000], { medianSeconds: 20, p90Seconds: 30 }],
    [[5_000, 1_000, 3_000], { medianSeconds: 3, p90Seconds: 5 }],
    // Note: nearest rank: the 9th of 10 values, the 10th of 11.
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => s * 1000), { medianSeconds: 6, p90Seconds: 9 }],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((s) => s * 1000), { medianSeconds: 6, p90Seconds: 10 }],
  ])('of %j is %j', (values, spread) => {
    expect(spreadOf(values)).toEqual(spread);
  });
});

const REPORT: RehearsalReport = {
  version: 1,
  cluster: { server: 'https://cluster.example', version: 'v1.31.2', nodes: 4, pods: 40 },
  target: 'v1.32.0',
  runs: 3,
  seed: 1,
  timings: {
    nodeDrain: { seconds: 60, source: 'policy' },
    nodeUpgrade: { seconds: 300, source: 'default' },
    podStartup: { seconds: 30, source: 'default' },
  },
  outcome: { finishes: false, runsSucceeded: 0, reason: 'incomplete: 1 node left behind' },
  total: { medianSeconds: 1800, p90Seconds: 2100 },
  nodePhase: { medianSeconds: 1500, p90Seconds: 1700 },
  plan: { nodePhaseEstimateSeconds: 1200, nodePhaseLowerBoundSeconds: 900 },
  phases: [{ name: 'Node pool general → v1.32.0', kind: 'node-pool', medianSeconds: 1500, p90Seconds: 1700 }],
  window: { opensAt: '2026-12-08T22:00:00.000Z', seconds: 1800, fits: false },
  blockingBudgets: [{ budget: 'legacy/stubborn-pdb', medianSeconds: 900, nodes: ['general-1'] }],
  deadlocks: [
    {
      budget: 'legacy/stubborn-pdb',
      rule: 'minAvailable 2',
      expectedPods: 2,
      pods: ['legacy/stubborn-1', 'legacy/stubborn-2'],
      nodes: ['general-1'],
    },
  ],
  singleReplicaDowntime: [
    { workload: 'Deployment platform/admin-dashboard', medianSeconds: 12, p90Seconds: 14 },
  ],
  capacityShortfalls: [
    {
      pool: 'general',
      cause: 'held',
      inFlight: 1,
      allowed: 2,
      pods: 12,
      cpuMillis: 1500,
      memoryBytes: 3 * 2 ** 30,
      medianSeconds: 1500,
      p90Seconds: 1700,
    },
    {
      pool: 'general',
      cause: 'pending',
      pods: 3,
      cpuMillis: 750,
      memoryBytes: 768 * 2 ** 20,
      medianSeconds: 40,
      p90Seconds: 65,
    },
  ],
  violations: 0,
  nodesNotUpgraded: [{ node: 'general-1', runs: 3, reason: 'drain timed out' }],
  timeline: [{ node: 'general-1', startSeconds: 0, endSeconds: 900 }],
  notes: ['health gates are not rehearsed'],
  wallSeconds: 12.5,
};

describe.each([
  ['table', renderReportTable],
  ['markdown', renderReportMarkdown],
])('the %s report', (_format, render) => {
  it('says the outcome, the spread, the window verdict, the timing sources, the budgets and the deadlock', () => {
    const text = render(REPORT);
    for (const fact of [
      'does not finish in 3 of 3 run(s): incomplete: 1 node left behind',
      '30m (p90 35m)',
      '25m (p90 28m20s)',
      'the upgrade does NOT fit (p90)',
      'nodeDrain 1m (from the policy)',
      'nodeUpgrade 5m (default)',
      'legacy/stubborn-pdb (minAvailable 2, 2 expected pod(s)) never allows an eviction: the drains of general-1 cannot finish; its pods: legacy/stubborn-1, legacy/stubborn-2',
      'general-1 (in 3 run(s)): drain timed out',
      'Deployment platform/admin-dashboard',
      '14s',
      'health gates are not rehearsed',
      // The plan's estimate against the rehearsal, and the floor no run goes under.
      "node phase estimated 20m (the rehearsal's median ×1.25 of it); no run can take less than 15m (its lower bound)",
      // Capacity shortfalls: which pool, what is short and for how long.
      'held to 1 of 2 nodes in flight',
      '12 pod(s) to place, 1500m CPU, 3Gi memory',
      'pods Pending: no room on the rest',
      '3 pod(s) Pending, 750m CPU, 768Mi memory',
      '40s (p90 1m5s)',
    ])
      expect(text).toContain(fact);
  });
});
