/**
 * After `apply` is killed (kill -9), the tool points the way back: `status` says nothing executes the run
 * any more and that `resume` continues it, and applying the plan again names the unfinished run instead of
 * only saying "write a new plan".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPlanYaml } from '../../src/plan/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import {
  expectUpgraded,
  planFor,
  SMALL_CLUSTER,
  startCluster,
  testPolicy,
} from '../engine/engine-harness.ts';
import { resumeWhenLeaseFree, runCli, spawnCli } from './run-cli.ts';

const TARGET = 'v1.31.2';
const POLICY = testPolicy({
  canary: { nodes: 1, soak: '0s' },
  timings: { waveSoak: '0s' },
  provider: { kind: 'job', image: 'registry.example/node-upgrader:1', command: 'kubeadm upgrade node' },
});

describe('after apply is killed', () => {
  let sandbox: RunningSandbox;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startCluster(SMALL_CLUSTER);
    dir = mkdtempSync(join(tmpdir(), 'midflight-crash-'));
  }, 60_000);

  afterAll(async () => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('status says the holder is gone and resume continues it; apply again names the run to resume', async () => {
    const state = join(dir, 'state.db');
    const planPath = join(dir, 'plan.yaml');
    writeFileSync(planPath, renderPlanYaml(await planFor(sandbox, TARGET, POLICY)));
    const cli = (...args: string[]) =>
      runCli('--kubeconfig', sandbox.kubeconfigPath, ...args, '--state', state);
    const common = ['--state', state, '--sandbox-clock', '--lease-duration', '2'];
    // Killed once the control plane is upgraded: the cluster has moved past the plan's source version.
    const killed = await spawnCli(sandbox.kubeconfigPath, ['apply', planPath, ...common, '-o', 'json'], {
      killWhen: (out) => /"node":"cp-1"[^\n]*"activity":"done"/.test(out),
    }).exited;
    expect(killed.killed).toBe(true);
    const [run] = JSON.parse((await cli('history', '-o', 'json')).stdout);
    expect(run.state).toBe('running');

    const status = await cli('status', run.id);
    expect(status.stdout).toMatch(
      /Not executing: its holder midflight\/run-.* is gone \(process \d+ on this host/,
    );
    expect(status.stdout).toMatch(new RegExp(`\`midflight resume ${run.id}\` continues the run`));
    expect(status.stdout).not.toMatch(/Pause with/);
    const json = JSON.parse((await cli('status', run.id, '-o', 'json')).stdout);
    expect(json.holderGone).toMatch(/no longer exists/);

    const again = await cli('apply', planPath, '--sandbox-clock');
    expect(again.stderr).toMatch(/plan refused \(version-passed\)/);
    expect(again.stderr).toMatch(
      new RegExp(
        `run ${run.id} \\(plan ${run.planId}, this plan\\) is running but its holder is gone .*\`midflight resume ${run.id}\` continues it`,
      ),
    );
    expect(again.code).toBe(2);

    const resumed = await resumeWhenLeaseFree(sandbox.kubeconfigPath, run.id, common);
    expect(resumed.out).toMatch(new RegExp(`Run ${run.id} succeeded`));
    expect(resumed.code).toBe(0);
    await expectUpgraded(sandbox, TARGET);
  }, 180_000);
});
