/**
 * The run's metrics as a scrape shows them, from a run's events on a virtual clock: nodes by stage,
 * evictions and their retries, the time each budget held the drains, durations, gate verdicts.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/index.ts';
import type { RunEvent } from '../../src/engine/index.ts';
import { RunMetrics } from '../../src/telemetry/index.ts';

const RUN = 'r-42';

/** A run's metrics and a way to feed it events stamped with the clock's time. */
function run(plannedNodes = ['w1', 'w2', 'w3']) {
  const clock = new VirtualClock();
  const metrics = new RunMetrics({ clock, cluster: 'https://c1:6443', plannedPhases: 2, plannedNodes });
  const emit = (event: Record<string, unknown>) =>
    metrics.onEvent({ runId: RUN, time: clock.now(), ...event } as unknown as RunEvent);
  /** The value of one sample in the scrape, undefined when it is not there. */
  const sample = async (name: string, labels: Record<string, string> = {}) => {
    const text = await metrics.registry.metrics();
    const want = { run_id: RUN, ...labels };
    for (const line of text.split('\n')) {
      const m = /^([a-z_:]+)\{([^}]*)\} (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const got = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(want).every(([k, v]) => got[k] === v)) return Number(m[3]);
    }
    return undefined;
  };
  emit({
    type: 'run-started',
    planId: 'p1',
    source: 'v1.30.6',
    target: 'v1.31.2',
    mode: 'upgrade',
    resumed: false,
  });
  return { clock, metrics, emit, sample };
}

const node = (n: string, status: string, activity?: string) => ({
  type: 'node-changed',
  stepId: 'pool-a/wave-1',
  node: n,
  status,
  activity,
});

const progress = (n: string, evicted: number, blocking: Array<[pod: string, budget: string]>) => ({
  type: 'eviction-progress',
  stepId: 'pool-a/wave-1',
  node: n,
  evicted,
  pending: blocking.length,
  blocking: blocking.map(([pod, budget]) => ({ pod, budget, reason: 'budget' })),
});

describe('RunMetrics', () => {
  it('labels every series with the run id and says what the run upgrades', async () => {
    const { metrics, sample } = run();
    expect(await sample('midflight_run_info', { cluster: 'https://c1:6443', target: 'v1.31.2' })).toBe(1);
    expect(await sample('midflight_run_state', { state: 'running' })).toBe(1);
    expect(await sample('midflight_run_state', { state: 'succeeded' })).toBe(0);
    expect(await sample('midflight_nodes_planned')).toBe(3);
    for (const line of (await metrics.registry.metrics()).split('\n'))
      if (line.startsWith('midflight_')) expect(line).toContain(`run_id="${RUN}"`);
  });

  it('counts nodes by stage as they move, and observes how long each stage took', async () => {
    const { clock, emit, sample } = run();
    expect(await sample('midflight_nodes', { state: 'pending' })).toBe(3);
    emit(node('w1', 'running', 'admitted'));
    emit(node('w1', 'running', 'cordon'));
    await clock.advance(2_000);
    emit(node('w1', 'running', 'drain'));
    await clock.advance(90_000);
    expect(await sample('midflight_node_drain_seconds', { node: 'w1' })).toBe(90);
    expect(await sample('midflight_node_stage', { node: 'w1' })).toBe(3);
    emit(node('w1', 'running', 'drained'));
    expect(await sample('midflight_node_stage', { node: 'w1' })).toBe(3);
    emit(node('w1', 'running', 'upgrade'));
    expect(await sample('midflight_node_drain_seconds', { node: 'w1' })).toBeUndefined();
    await clock.advance(60_000);
    emit(node('w1', 'done', 'done'));
    expect(await sample('midflight_nodes', { state: 'done' })).toBe(1);
    expect(await sample('midflight_nodes', { state: 'pending' })).toBe(2);
    expect(await sample('midflight_node_stage_duration_seconds_count', { stage: 'drain' })).toBe(1);
    expect(await sample('midflight_node_stage_duration_seconds_sum', { stage: 'drain' })).toBe(90);
    expect(await sample('midflight_node_duration_seconds_sum', { status: 'done' })).toBe(152);
  });

  it('counts evictions once, a refused eviction once per wait, and how long each budget held drains', async () => {
    const { clock, emit, sample } = run();
    emit(node('w1', 'running', 'drain'));
    emit(node('w2', 'running', 'drain'));
    emit(progress('w1', 1, [['app/web-1', 'app/web']]));
    await clock.advance(10_000);
    // The same pod still waiting is not another refusal; w2 held by the same budget does not double its time.
    emit(progress('w1', 2, [['app/web-1', 'app/web']]));
    emit(progress('w2', 0, [['app/web-2', 'app/web']]));
    expect(await sample('midflight_budget_blocked_pods', { budget: 'app/web' })).toBe(2);
    await clock.advance(20_000);
    emit(progress('w1', 3, []));
    expect(await sample('midflight_budget_blocked_seconds_total', { budget: 'app/web' })).toBe(30);
    await clock.advance(5_000);
    emit(progress('w2', 1, []));
    await clock.advance(60_000);
    expect(await sample('midflight_evictions_total', { node: 'w1' })).toBe(3);
    expect(await sample('midflight_evictions_total', { node: 'w2' })).toBe(1);
    expect(await sample('midflight_eviction_retries_total', { budget: 'app/web' })).toBe(2);
    expect(await sample('midflight_budget_blocked_seconds_total', { budget: 'app/web' })).toBe(35);
    expect(await sample('midflight_budget_blocked_pods', { budget: 'app/web' })).toBe(0);
  });

  it('counts a drain that starts again from zero (a node retried)', async () => {
    const { emit, sample } = run();
    emit(node('w1', 'running', 'drain'));
    emit(progress('w1', 4, []));
    emit(node('w1', 'skipped'));
    emit(node('w1', 'running', 'drain'));
    emit(progress('w1', 1, []));
    expect(await sample('midflight_evictions_total', { node: 'w1' })).toBe(5);
  });

  it('closes a budget hold when the run ends while a drain waits', async () => {
    const { clock, emit, sample } = run();
    emit(node('w1', 'running', 'drain'));
    emit(progress('w1', 0, [['app/web-1', 'app/web']]));
    await clock.advance(7_000);
    emit({ type: 'run-finished', state: 'paused', summary: {} });
    await clock.advance(60_000);
    expect(await sample('midflight_budget_blocked_seconds_total', { budget: 'app/web' })).toBe(7);
    expect(await sample('midflight_run_state', { state: 'paused' })).toBe(1);
    expect(await sample('midflight_run_state', { state: 'running' })).toBe(0);
  });

  it('records each gate evaluation by verdict, with its last value and baseline', async () => {
    const { emit, sample } = run();
    const evaluation = (verdict: string, value?: number) => ({
      type: 'gate-evaluated',
      evaluation: { gate: 'M5-errors', time: 0, query: 'q', verdict, value, baseline: 0.05 },
    });
    emit(evaluation('failure', 0.2));
    emit(evaluation('inconclusive'));
    expect(await sample('midflight_gate_evaluations_total', { gate: 'M5-errors', verdict: 'failure' })).toBe(
      1,
    );
    expect(
      await sample('midflight_gate_evaluations_total', { gate: 'M5-errors', verdict: 'inconclusive' }),
    ).toBe(1);
    // An evaluation without a value (the query failed) leaves the last one measured.
    expect(await sample('midflight_gate_value', { gate: 'M5-errors' })).toBe(0.2);
    expect(await sample('midflight_gate_baseline', { gate: 'M5-errors' })).toBe(0.05);
  });

  it('observes phase and step durations by kind and marks the running phase', async () => {
    const { emit, sample } = run();
    emit({ type: 'phase-started', phase: 2, kind: 'node-pool', name: 'pool a' });
    expect(await sample('midflight_run_phase', { phase: '2', kind: 'node-pool' })).toBe(1);
    emit({ type: 'step-started', phase: 2, stepId: 's1', kind: 'node-wave', title: 'wave', nodes: ['w1'] });
    emit({ type: 'step-finished', stepId: 's1', status: 'done', durationMs: 125_000 });
    emit({ type: 'phase-finished', phase: 2, kind: 'node-pool', name: 'pool a', durationMs: 130_000 });
    expect(await sample('midflight_run_phase', { phase: '2', kind: 'node-pool' })).toBe(0);
    expect(await sample('midflight_step_duration_seconds_sum', { kind: 'node-wave', status: 'done' })).toBe(
      125,
    );
    expect(await sample('midflight_phase_duration_seconds_count', { kind: 'node-pool' })).toBe(1);
    expect(await sample('midflight_phases_finished_total', { kind: 'node-pool' })).toBe(1);
  });

  it('counts a rollback against the nodes its steps return, not the plan', async () => {
    const clock = new VirtualClock();
    const metrics = new RunMetrics({ clock, plannedPhases: 4, plannedNodes: ['w1', 'w2', 'w3'] });
    const emit = (event: Record<string, unknown>) =>
      metrics.onEvent({ runId: RUN, time: clock.now(), ...event } as unknown as RunEvent);
    emit({
      type: 'run-started',
      planId: 'p1',
      source: 'v1.30.6',
      target: 'v1.31.2',
      mode: 'rollback',
      resumed: false,
    });
    emit({
      type: 'step-started',
      phase: 0,
      stepId: 'rollback/w2',
      kind: 'node-wave',
      title: 'w2',
      nodes: ['w2'],
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain(`midflight_nodes_planned{run_id="${RUN}"} 1`);
    expect(text).toContain(`midflight_nodes{run_id="${RUN}",state="pending"} 1`);
    expect(text).not.toContain(`midflight_phases_planned{run_id="${RUN}"}`);
  });

  it("counts a resumed run's nodes finished by an earlier process, as the store gives them", async () => {
    const { emit, metrics, sample } = run();
    metrics.seedNodes(
      new Map([
        ['w1', 'done'],
        ['w2', 'quarantined'],
      ]),
    );
    expect(await sample('midflight_nodes', { state: 'done' })).toBe(1);
    expect(await sample('midflight_nodes', { state: 'quarantined' })).toBe(1);
    expect(await sample('midflight_nodes', { state: 'pending' })).toBe(1);
    emit(node('w3', 'running', 'cordon'));
    metrics.seedNodes(new Map([['w3', 'pending']]));
    expect(await sample('midflight_node_stage', { node: 'w3' })).toBe(2);
  });
});
