/**
 * `midflight rollback` as a run mode, through the real CLI process: a rollback killed with SIGKILL is
 * continued by `resume` (as a rollback, never as the upgrade again), and a rollback pauses on
 * `midflight pause` from another terminal or on Ctrl-C, then resumes to the end.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderPlanYaml } from '../../src/plan/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import { nodes, planFor, startCluster, testPolicy, WORKERS_CLUSTER } from '../engine/engine-harness.ts';
import { runCli, spawnCli } from './run-cli.ts';

const TARGET = 'v1.31.2';
const SOURCE = 'v1.30.6';
const POLICY = testPolicy({
  canary: { nodes: 1, soak: '0s' },
  timings: { waveSoak: '0s' },
  provider: { kind: 'job', image: 'registry.example/node-upgrader:1', command: 'kubeadm upgrade node' },
});

/** Real time between looks at a run another process executes; the waits around it are generous (busy CI). */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a rollback is a run mode with the controls of a run', () => {
  let sandbox: RunningSandbox;
  let dir: string;
  let state: string;
  const cli = (...args: string[]) =>
    runCli('--kubeconfig', sandbox.kubeconfigPath, ...args, '--state', state);
  const status = async (runId: string) => JSON.parse((await cli('status', runId, '-o', 'json')).stdout);

  /** Applies the plan to the end, so that three workers have something to roll back. */
  async function upgradedRun(): Promise<string> {
    const planPath = join(dir, 'plan.yaml');
    writeFileSync(planPath, renderPlanYaml(await planFor(sandbox, TARGET, POLICY)));
    const applied = await cli('apply', planPath, '--sandbox-clock', '-o', 'json');
    expect(applied.code).toBe(0);
    const runId = JSON.parse(applied.stdout.trim().split('\n').at(-1)!).runId as string;
    expect((await nodes(sandbox)).filter((n) => n.version === TARGET)).toHaveLength(4);
    return runId;
  }

  /** Resumes `runId` in its own process, retrying while the dead process's lease has not expired yet. */
  async function resume(runId: string): Promise<{ code: number; out: string }> {
    const args = ['resume', runId, '--state', state, '--sandbox-clock', '--lease-duration', '2'];
    let resumed = await spawnCli(sandbox.kubeconfigPath, args).exited;
    for (let i = 0; i < 40 && resumed.out.includes('holds lease'); i++) {
      await sleep(500);
      resumed = await spawnCli(sandbox.kubeconfigPath, args).exited;
    }
    return resumed;
  }

  async function expectRolledBack(runId: string): Promise<void> {
    for (const n of await nodes(sandbox))
      expect({ node: n.name, version: n.version, unschedulable: n.unschedulable }).toEqual({
        node: n.name,
        version: n.name.startsWith('cp-') ? TARGET : SOURCE,
        unschedulable: false,
      });
    const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
    expect(items).toEqual([]);
    expect(await status(runId)).toMatchObject({ state: 'rolled-back', mode: 'rollback' });
  }

  beforeEach(async () => {
    sandbox = await startCluster(WORKERS_CLUSTER);
    dir = mkdtempSync(join(tmpdir(), 'midflight-rollback-'));
    state = join(dir, 'state.db');
  }, 60_000);

  afterEach(async () => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('kill -9 mid-rollback: status says the holder is gone, and resume finishes the rollback, not the upgrade', async () => {
    const runId = await upgradedRun();
    // Killed as soon as the first node is back at its old version: two are still to roll back.
    const killed = await spawnCli(
      sandbox.kubeconfigPath,
      [
        'rollback',
        runId,
        '--yes',
        '--state',
        state,
        '--sandbox-clock',
        '--lease-duration',
        '2',
        '-o',
        'json',
      ],
      { killWhen: (out) => /"stepId":"rollback"[^\n]*"activity":"upgraded"/.test(out) },
    ).exited;
    expect(killed.killed).toBe(true);
    const stopped = await status(runId);
    expect(stopped).toMatchObject({ state: 'running', mode: 'rollback' });
    expect(stopped.nodes.rolledBack.length).toBeLessThan(3);
    const table = await cli('status', runId);
    expect(table.stdout).toMatch(/holder .* is gone/);
    expect(table.stdout).toMatch(new RegExp(`\`midflight resume ${runId}\` continues the rollback`));
    expect(table.stdout).not.toMatch(/Pause with/);

    const resumed = await resume(runId);
    expect(resumed.out).toMatch(new RegExp(`Run ${runId} rolled-back`));
    expect(resumed.code).toBe(0);
    await expectRolledBack(runId);
  }, 180_000);

  it.each([
    ['`midflight pause RUN` from another terminal', 'pause'],
    ['Ctrl-C', 'SIGINT'],
  ] as const)(
    '%s pauses a rollback between nodes; resume continues the rollback',
    async (_, how) => {
      const runId = await upgradedRun();
      const rollback = spawnCli(sandbox.kubeconfigPath, [
        'rollback',
        runId,
        '--yes',
        '--state',
        state,
        '--sandbox-clock',
      ]);
      // Stop it once the rollback is under way: the node in flight finishes, the next does not start.
      for (let i = 0; i < 200; i++) {
        const now = await status(runId);
        if (now.mode === 'rollback' && now.state === 'running' && now.inFlight.length > 0) break;
        await sleep(100);
      }
      if (how === 'pause')
        expect(await cli('pause', runId)).toMatchObject({ code: 0, stdout: /pause requested/ });
      else rollback.child.kill('SIGINT');
      const paused = await rollback.exited;
      expect(paused.out).toMatch(
        new RegExp(`Paused\\. \`midflight resume ${runId}\` continues the rollback`),
      );
      expect(paused.code).toBe(3);
      const stopped = await status(runId);
      expect(stopped).toMatchObject({ state: 'paused', mode: 'rollback' });
      expect(stopped.nodes.rolledBack.length).toBeLessThan(3);
      expect((await nodes(sandbox)).filter((n) => n.unschedulable)).toEqual([]);

      const resumed = await resume(runId);
      expect(resumed.out).toMatch(new RegExp(`Run ${runId} rolled-back`));
      expect(resumed.code).toBe(0);
      await expectRolledBack(runId);
    },
    180_000,
  );
});
