import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import {
  MIGRATIONS,
  type NodeRowDetail,
  RunNotFoundError,
  RunStore,
  SCHEMA_VERSION,
  type StepStatePatch,
} from '../../src/store/index.ts';

const dirs: string[] = [];
function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'state.db');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const newRun = (id: string, fingerprint = 'fp-1') => ({
  id,
  planJson: '{"id":"plan-x"}',
  planId: 'plan-x',
  planHash: 'abc',
  clusterFingerprint: fingerprint,
  clusterServer: 'https://127.0.0.1:6443',
  source: 'v1.30.6',
  target: 'v1.31.2',
});

describe('RunStore', () => {
  it('keeps runs, step states and logs across reopening the file', async () => {
    const path = tempPath();
    const clock = new VirtualClock(1_000);
    const store = RunStore.open(path, { clock });
    store.createRun(newRun('run-1'));
    store.setRunState('run-1', 'running', { holder: 'me' });
    store.putStepState<NodeRowDetail>('run-1', 'pool-a-001', 'node-1', {
      status: 'running',
      intent: 'cordon',
      wasAlreadyCordoned: false,
      previousVersion: 'v1.30.6',
      detail: { namespaces: ['shop'], blocking: [{ pod: 'shop/web-1', reason: 'budget' }] },
    });
    await clock.advance(500);
    // The detail is merged; a key set to undefined is removed.
    store.putStepState<NodeRowDetail>('run-1', 'pool-a-001', 'node-1', {
      subStep: 'cordoned',
      detail: { evicted: 2, blocking: undefined },
    });
    store.appendLog('run-1', { level: 'info', step: 'pool-a-001', node: 'node-1', message: 'cordoned' });
    store.close();

    const again = RunStore.open(path, { clock });
    expect(again.getRun('run-1')).toMatchObject({ state: 'running', holder: 'me', createdAt: 1_000 });
    expect(again.stepState('run-1', 'pool-a-001', 'node-1')).toMatchObject({
      status: 'running',
      subStep: 'cordoned',
      intent: 'cordon',
      wasAlreadyCordoned: false,
      previousVersion: 'v1.30.6',
    });
    expect(again.stepState('run-1', 'pool-a-001', 'node-1')?.detail).toEqual({
      namespaces: ['shop'],
      evicted: 2,
    });
    expect(again.logs('run-1').map((l) => l.message)).toEqual(['cordoned']);
    again.close();
  });

  it('clears optional fields when a patch sets them to undefined explicitly', () => {
    const store = RunStore.open(tempPath());
    store.createRun(newRun('run-1'));
    store.putStepState('run-1', 's', '', { status: 'running', intent: 'run', finishedAt: 5 });
    const s = store.putStepState('run-1', 's', '', { intent: undefined, finishedAt: undefined });
    expect(s.intent).toBeUndefined();
    expect(s.finishedAt).toBeUndefined();
    expect(s.status).toBe('running');
    store.close();
  });

  it('gives back each written step state as a read of its row gives it', () => {
    const store = RunStore.open(tempPath());
    store.createRun(newRun('run-1'));
    const patches: StepStatePatch<NodeRowDetail>[] = [
      {
        status: 'running',
        attempt: 1,
        previousVersion: 'v1.30.6',
        startedAt: 7,
        detail: { reason: undefined },
      },
      { intent: 'cordon', wasAlreadyCordoned: true },
      { subStep: 'cordoned', intent: undefined, wasAlreadyCordoned: undefined },
      { detail: { blocking: [{ pod: 'shop/web-1', budget: undefined, reason: 'budget' }] } },
      { subStep: 'drained', detail: { namespaces: ['shop'], evicted: 2, blocking: undefined } },
      { status: 'done', subStep: undefined, finishedAt: 9, detail: { drainedAt: 8 } },
    ];
    for (const patch of patches) {
      const written = store.putStepState<NodeRowDetail>('run-1', 'pool-a-001', 'node-1', patch);
      expect(written).toEqual(store.stepState('run-1', 'pool-a-001', 'node-1'));
    }
    store.close();
  });

  it('sees a pause requested by another process', () => {
    const path = tempPath();
    const engine = RunStore.open(path);
    engine.createRun(newRun('run-1'));
    const cli = RunStore.open(path);
    cli.requestAction('run-1', 'abort', { keepCordoned: true });
    expect(engine.getRun('run-1')).toMatchObject({
      requestedAction: 'abort',
      requestDetail: { keepCordoned: true },
    });
    // What the executing process polls: the request alone, not the whole run with its plan.
    expect(engine.runRequest('run-1')).toEqual({
      requestedAction: 'abort',
      requestDetail: { keepCordoned: true },
    });
    cli.requestAction('run-1', null);
    expect(engine.runRequest('run-1')).toEqual({ requestedAction: undefined, requestDetail: undefined });
    expect(engine.runRequest('no-such-run')).toBeUndefined();
    cli.close();
    engine.close();
  });

  it('lists runs newest first, by cluster', async () => {
    const clock = new VirtualClock(0);
    const store = RunStore.open(tempPath(), { clock });
    store.createRun(newRun('run-a'));
    await clock.advance(10);
    store.createRun(newRun('run-b', 'fp-2'));
    await clock.advance(10);
    store.createRun(newRun('run-c'));
    expect(store.listRuns().map((r) => r.id)).toEqual(['run-c', 'run-b', 'run-a']);
    expect(store.listRuns({ clusterFingerprint: 'fp-1' }).map((r) => r.id)).toEqual(['run-c', 'run-a']);
    store.close();
  });

  it('gives a terminal state a finish time', async () => {
    const clock = new VirtualClock(0);
    const store = RunStore.open(tempPath(), { clock });
    store.createRun(newRun('run-1'));
    await clock.advance(42);
    expect(store.setRunState('run-1', 'succeeded').finishedAt).toBe(42);
    expect(store.setRunState('run-1', 'running').finishedAt).toBeUndefined();
    store.close();
  });

  it('records what a run executes (its mode), and an incomplete run has finished', async () => {
    const clock = new VirtualClock(0);
    const store = RunStore.open(tempPath(), { clock });
    expect(store.createRun(newRun('run-1')).mode).toBe('upgrade');
    expect(store.setRunMode('run-1', 'rollback').mode).toBe('rollback');
    await clock.advance(7);
    expect(store.setRunState('run-1', 'incomplete').finishedAt).toBe(7);
    expect(() => store.setRunMode('nope', 'rollback')).toThrow(RunNotFoundError);
    store.close();
  });

  it('brings a store written before run modes up to date: its runs were upgrades', () => {
    const path = tempPath();
    RunStore.open(path).close();
    const old = new Database(path);
    old.exec(
      'DROP TABLE gate_evaluations; DROP TABLE gate_baselines; DROP TABLE log; DROP TABLE step_states; DROP TABLE runs; PRAGMA user_version = 0',
    );
    old.exec(MIGRATIONS[0]!.sql);
    old.exec('PRAGMA user_version = 1');
    old
      .prepare(
        `INSERT INTO runs (id, plan_json, plan_id, plan_hash, cluster_fingerprint, cluster_server, source, target,
           state, created_at, updated_at) VALUES ('run-old', '{}', 'p', 'h', 'f', 's', 'v1.30.6', 'v1.31.2', 'paused', 1, 1)`,
      )
      .run();
    old.close();
    const store = RunStore.open(path);
    expect(store.getRun('run-old')).toMatchObject({ state: 'paused', mode: 'upgrade' });
    store.close();
  });

  it('names the missing run', () => {
    const store = RunStore.open(tempPath());
    expect(() => store.setRunState('nope', 'running')).toThrow(RunNotFoundError);
    expect(() => store.mustGetRun('nope')).toThrow(/no run "nope"/);
    store.close();
  });

  it('lets a test fail a write at an exact point, leaving nothing half-written', () => {
    const store = RunStore.open(tempPath(), {
      beforeWrite: (n) => {
        if (n === 3) throw new Error('crash');
      },
    });
    store.createRun(newRun('run-1'));
    store.setRunState('run-1', 'running');
    expect(() => store.setRunState('run-1', 'failed')).toThrow('crash');
    expect(store.getRun('run-1')?.state).toBe('running');
    store.close();
  });

  it('refuses a store written by a newer schema', () => {
    const path = tempPath();
    RunStore.open(path).close();
    const raw = RunStore.open(path);
    // biome-ignore lint/suspicious/noExplicitAny: reaching the private handle is the point of this test
    (raw as any).db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => RunStore.open(path)).toThrow(/written by a newer midflight/);
  });
});
