/**
 * kill -9 during a blue-green replacement (issue 14), every process a real one: `midflight sandbox start`
 * serves the cluster, `midflight apply` (strategy blue-green, the sandbox node provider) is SIGKILLed while
 * it creates the green pool, each `midflight resume` after it is SIGKILLed at the next point (a blue drain,
 * the final soak, the blue pool's deletion), and a last resume finishes the run. Every green node is created
 * once, none is orphaned, every blue node is deleted once and drained first (the sandbox's record of
 * deletes), no node is left cordoned, no budget is violated.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderPlanYaml } from '../../src/plan/index.ts';
import { type SandboxProcess, startSandboxProcess } from '../e2e/sandbox-process.ts';
import { nodes, planFor, TIME_SCALE } from '../engine/engine-harness.ts';
import {
  blueGreenPolicy,
  deletions,
  expectPoolReplaced,
  machines,
  SURGE_CLUSTER,
} from '../engine/surge-harness.ts';
import { applyKilledAndResumed, jsonEvents } from './run-cli.ts';

const TARGET = 'v1.31.2';
const BLUE = ['general-1', 'general-2', 'general-3'];

/** True once the output so far holds an event that passes `test`. */
const seen = (test: (e: Record<string, unknown>) => boolean) => (out: string) => jsonEvents(out).some(test);
const nodeChanged = (activity: string, stepId?: string) =>
  seen((e) => e.type === 'node-changed' && e.activity === activity && (!stepId || e.stepId === stepId));

/**
 * Where each process dies, in order: apply at the first, each resume at the next. Note: the output is read
 * as it comes, so a kill lands a moment after its line: the three creates asked for together may or may
 * not have reached the sandbox, the DELETE may or may not have; both must end the same way.
 */
const KILLS = [
  // The first green node's create is recorded as an intent; the provider is being called.
  nodeChanged('create', 'green-general'),
  // A blue node's drain has begun.
  nodeChanged('drain'),
  // The drained blue pool is held for the final soak.
  seen((e) => e.type === 'log' && String(e.message).includes('is held for')),
  // The first blue node's DELETE goes out.
  seen((e) => e.type === 'log' && String(e.message).startsWith('DELETE /sandbox/v1/nodes/')),
];

describe('apply killed (kill -9) during a blue-green replacement, against a sandbox process', () => {
  it('killed creating green, draining blue, in the final soak and deleting blue; resumed to the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midflight-killed-blue-green-'));
    let sandbox: SandboxProcess | undefined;
    try {
      const scenario = join(dir, 'scenario.yaml');
      writeFileSync(scenario, SURGE_CLUSTER);
      sandbox = await startSandboxProcess({ scenario, timeScale: TIME_SCALE, dir, name: 'sandbox' });
      // Note: 2m of the sandbox's clock (3 s of wall time at ×40) keeps the soak going while its kill lands.
      const plan = await planFor(sandbox, TARGET, blueGreenPolicy('2m'));
      const planPath = join(dir, 'plan.yaml');
      writeFileSync(planPath, renderPlanYaml(plan));

      const run = await applyKilledAndResumed({
        kubeconfig: sandbox.kubeconfigPath,
        planPath,
        state: join(dir, 'state.db'),
        args: ['--lease-duration', '2', '-o', 'json'],
        kills: KILLS,
      });
      expect(run.killed).toEqual(KILLS.map(() => true));
      expect(jsonEvents(run.finished.out).find((e) => e.type === 'run-finished')).toMatchObject({
        state: 'succeeded',
      });
      expect(run.finished.code).toBe(0);

      // The green pool: one node per blue node, labelled by the run, Ready at the target; none orphaned.
      await expectPoolReplaced(sandbox, run.runId, TARGET);
      // Created once each: the sandbox never gives a name twice, so a second create would show as general-7.
      const green = await machines(sandbox);
      expect(green.map((m) => m.name).sort()).toEqual(['general-4', 'general-5', 'general-6']);
      expect(green.map((m) => m.labels['upgrade.midflight.dev/replaces']).sort()).toEqual(BLUE);
      // Every blue node deleted once, after its drain (nothing but DaemonSet pods went with it), and no
      // green machine deleted.
      const deleted = await deletions(sandbox);
      expect(deleted.map((d) => [d.name, d.deleted, d.podsLeft]).sort()).toEqual(
        BLUE.map((n) => [n, 'node', []]),
      );
      expect((await nodes(sandbox)).filter((n) => n.unschedulable)).toEqual([]);
    } finally {
      await sandbox?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000); // six processes, each loading the CLI (seconds of CPU): the bound only catches a hang
});
