/**
 * kill -9 during a node flow (issue 11): the real `midflight apply` process, two nodes in flight over four
 * workers, is SIGKILLed at a seeded moment of its node phase, then `midflight resume` is killed at another,
 * then resumed to the end. Every admission is in the store before its cordon, so the resumed processes
 * take up the nodes already started and nothing is done twice: each worker's kubelet changes version once,
 * no node is admitted twice, none is left cordoned, no budget is violated, and the run succeeds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type NodeWaveStep, renderPlanYaml } from '../../src/plan/index.ts';
import {
  expectUpgraded,
  FAST_TIMING,
  nodes,
  planFor,
  seeded,
  startCluster,
  testPolicy,
  VersionWatch,
} from '../engine/engine-harness.ts';
import { jsonEvents, resumeWhenLeaseFree, runCli, spawnCli } from './run-cli.ts';

const TARGET = 'v1.31.2';

/** Four workers behind the control plane; web's and api's budgets are spread over them. */
const FLOW_CLUSTER = `
name: cli-killed-flow
kubernetesVersion: v1.31.2
seed: 21
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 4, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 4, pdb: { maxUnavailable: 1 } }
  - { name: api, namespace: app, kind: Deployment, replicas: 2, pdb: { minAvailable: 1 } }
${FAST_TIMING}`;

const POLICY = testPolicy({
  canary: { nodes: 0 },
  timings: { waveSoak: '0s' },
  defaults: { maxUnavailable: 2 },
  provider: { kind: 'job', image: 'registry.example/node-upgrader:1', command: 'kubeadm upgrade node' },
});

/** A full run prints about 12 node-changed lines per worker: kills land early, midway or late in the flow. */
const SEEDS = [5, 41];

/** The worker node-changed events a `-o json` process printed. */
function nodeChanges(stdout: string): Array<Record<string, unknown>> {
  return jsonEvents(stdout).filter((e) => e.type === 'node-changed' && !String(e.node).startsWith('cp-'));
}

describe('apply killed (kill -9) during a node flow', () => {
  it.each(SEEDS)(
    'seed %i: killed in apply and again in resume, resumed to the end with nothing doubled',
    async (seed) => {
      const sandbox = await startCluster(FLOW_CLUSTER);
      const watch = new VersionWatch(sandbox);
      const dir = mkdtempSync(join(tmpdir(), 'midflight-killed-flow-'));
      try {
        await watch.start();
        const plan = await planFor(sandbox, TARGET, POLICY);
        const wave = plan.phases.flatMap((p) => p.steps).find((s) => s.kind === 'node-wave') as NodeWaveStep;
        expect({ nodes: wave.nodes.length, maxInFlight: wave.maxInFlight }).toEqual({
          nodes: 4,
          maxInFlight: 2,
        });
        const planPath = join(dir, 'plan.yaml');
        writeFileSync(planPath, renderPlanYaml(plan));
        const state = join(dir, 'state.db');
        const common = ['--state', state, '--lease-duration', '2', '-o', 'json'];
        const random = seeded(seed);
        const killAt = [1 + Math.floor(random() * 36), 1 + Math.floor(random() * 6)];

        const applied = await spawnCli(sandbox.kubeconfigPath, ['apply', planPath, ...common], {
          killWhen: (out) => nodeChanges(out).length >= killAt[0]!,
        }).exited;
        expect(applied.killed).toBe(true);
        const [run] = JSON.parse((await runCli('history', '--state', state, '-o', 'json')).stdout);
        expect(run.state).toBe('running');

        const resumedOnce = await resumeWhenLeaseFree(sandbox.kubeconfigPath, run.id, common, {
          killWhen: (out) => nodeChanges(out).length >= killAt[1]!,
        });
        expect(resumedOnce.killed).toBe(true);

        const finished = await resumeWhenLeaseFree(sandbox.kubeconfigPath, run.id, common);
        expect(finished.killed).toBe(false);
        expect(jsonEvents(finished.out).find((e) => e.type === 'run-finished')).toMatchObject({
          state: 'succeeded',
        });
        expect(finished.code).toBe(0);
        const [after] = JSON.parse((await runCli('history', '--state', state, '-o', 'json')).stdout);
        expect(after).toMatchObject({ id: run.id, state: 'succeeded' });

        await expectUpgraded(sandbox, TARGET);
        // A resumed process takes up the nodes the store shows admitted: no node is admitted twice.
        const admitted = [applied, resumedOnce, finished]
          .flatMap((p) => nodeChanges(p.out))
          .filter((e) => e.activity === 'admitted')
          .map((e) => String(e.node));
        for (const node of wave.nodes)
          expect({ node, admissions: admitted.filter((n) => n === node).length }).toEqual({
            node,
            admissions: expect.toSatisfy((n: number) => n <= 1),
          });
        // Each worker's kubelet changed version once (the watch polls every 50 ms: let it see the last one).
        await new Promise((r) => setTimeout(r, 200));
        for (const n of await nodes(sandbox))
          expect({ node: n.name, changes: watch.changes.get(n.name) ?? 0 }).toEqual({
            node: n.name,
            changes: n.name.startsWith('cp-') ? 0 : 1,
          });
      } finally {
        watch.stop();
        await sandbox.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
