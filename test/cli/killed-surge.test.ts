/**
 * kill -9 during a surge replacement (issue 14): the real `midflight apply` process, whose plan's policy
 * replaces the pool through the sandbox node provider, is SIGKILLed at a seeded moment of its node phase,
 * then resumed to the end by `midflight resume`. No node is created twice, none is orphaned (every machine
 * created is a Ready node of the pool), none is left cordoned, the old nodes are gone, none went with
 * workload pods on it and no budget is violated. The same kill and resume, at four points of a blue-green
 * replacement: killed-blue-green.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderPlanYaml } from '../../src/plan/index.ts';
import { planFor, seeded, startCluster } from '../engine/engine-harness.ts';
import { expectPoolReplaced, SURGE_CLUSTER, surgePolicy } from '../engine/surge-harness.ts';
import { applyKilledAndResumed, jsonEvents } from './run-cli.ts';

const TARGET = 'v1.31.2';
/** A surge run prints about 10 node-changed lines per old node: kills land early, midway or late. */
const SEEDS = [3, 8];

describe('apply killed (kill -9) during a surge replacement', () => {
  it.each(SEEDS)(
    'seed %i: killed in apply, resumed to the end with no node created twice or orphaned',
    async (seed) => {
      const sandbox = await startCluster(SURGE_CLUSTER);
      const dir = mkdtempSync(join(tmpdir(), 'midflight-killed-surge-'));
      try {
        const plan = await planFor(sandbox, TARGET, surgePolicy());
        const planPath = join(dir, 'plan.yaml');
        writeFileSync(planPath, renderPlanYaml(plan));
        const killAt = 1 + Math.floor(seeded(seed)() * 30);
        const changes = (out: string) =>
          jsonEvents(out).filter((e) => e.type === 'node-changed' && !String(e.node).startsWith('cp-'));

        const run = await applyKilledAndResumed({
          kubeconfig: sandbox.kubeconfigPath,
          planPath,
          state: join(dir, 'state.db'),
          args: ['--lease-duration', '2', '-o', 'json'],
          kills: [(out) => changes(out).length >= killAt],
        });
        expect(run.killed).toEqual([true]);
        expect(jsonEvents(run.finished.out).find((e) => e.type === 'run-finished')).toMatchObject({
          state: 'succeeded',
        });
        expect(run.finished.code).toBe(0);
        await expectPoolReplaced(sandbox, run.runId, TARGET);
      } finally {
        await sandbox.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
