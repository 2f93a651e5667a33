/**
 * Times preflight and planning for the `large` scenario (5,000 nodes, 150,000 pods), as `midflight
 * preflight` and `midflight plan` meet it: the sandbox is started in this process, the snapshot is read over
 * HTTP with readSnapshot (timed apart: that is I/O and JSON, not checking or planning), then runPreflight
 * and planUpgrade are timed on it. Target (issue 3): preflight and plan under 10 s together on 2 cores.
 *
 * Note: the sandbox runs on a virtual clock that nothing advances, so its kubelets, controllers and
 * traffic stay quiet and the read is not slowed down by the simulation sharing this process's event loop.
 * The pods are prebound (Running and Ready from the start), so there is nothing to wait for.
 *
 * Then the same two steps on the seeded synthetic cluster of test/fixtures (same size, more budgets and
 * more varied workloads), which needs no sandbox.
 *
 * Usage: npx tsx bench/preflight-plan-large.ts
 */
import { KubeConfig } from '@kubernetes/client-node';
import { VirtualClock } from '../src/core/clock.ts';
import type { ClusterSnapshot } from '../src/core/snapshot.ts';
import { type KubeVersion, parseVersion, resolveTargetVersion } from '../src/core/versions.ts';
import { readSnapshot, SNAPSHOT_PAGE_SIZE } from '../src/kube/snapshot.ts';
import { planUpgrade } from '../src/plan/planner.ts';
import { defaultPolicy } from '../src/plan/policy.ts';
import { runPreflight } from '../src/preflight/index.ts';
import { Sandbox } from '../src/sandbox/sandbox.ts';
import { syntheticCluster } from '../test/fixtures/snapshots/synthetic-cluster.ts';

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

function timed<T>(fn: () => T): [T, number] {
  const started = performance.now();
  const result = fn();
  return [result, performance.now() - started];
}

/** Prints preflight and plan times for one snapshot; `now` is the snapshot's time. */
function checkAndPlan(snapshot: ClusterSnapshot, target: KubeVersion): void {
  const policy = defaultPolicy();
  policy.defaults.maxUnavailable = '5%';
  const [report, preflightMs] = timed(() =>
    runPreflight(snapshot, target, policy, Date.parse(snapshot.takenAt)),
  );
  const [plan, planMs] = timed(() => planUpgrade(snapshot, target, policy));
  const steps = plan.phases.reduce((n, p) => n + p.steps.length, 0);
  console.log(
    `  cluster                  ${snapshot.nodes.length} nodes, ${snapshot.pods.length} pods, ${snapshot.pdbs.length} budgets, ${snapshot.server.gitVersion} → ${plan.target}`,
  );
  console.log(
    `  preflight                ${seconds(preflightMs)}: ${report.counts.blocker} blockers, ${report.counts.warning} warnings, ${report.counts.info} info`,
  );
  console.log(
    `  plan                     ${seconds(planMs)}: ${steps} steps, ${plan.estimate.nodeWaves} node wave(s), estimate ${plan.estimate.nodePhaseSeconds} s (lower bound ${plan.estimate.nodePhaseLowerBoundSeconds} s)`,
  );
  console.log(`  preflight + plan         ${seconds(preflightMs + planMs)} (target < 10 s)`);
}

{
  const clock = new VirtualClock();
  let started = performance.now();
  const box = await Sandbox.start({ scenario: 'large', clock });
  const startMs = performance.now() - started;
  let snapshot: ClusterSnapshot;
  let readMs: number;
  try {
    const kc = new KubeConfig();
    kc.loadFromString(box.kubeconfig());
    started = performance.now();
    snapshot = await readSnapshot(kc, { now: () => clock.now() });
    readMs = performance.now() - started;
  } finally {
    await box.stop();
  }
  const from = parseVersion(snapshot.server.gitVersion);
  console.log('preflight + plan, the `large` sandbox scenario');
  console.log(`  sandbox start-up         ${seconds(startMs)} (not part of the target)`);
  console.log(
    `  read snapshot over HTTP  ${seconds(readMs)} (pages of ${SNAPSHOT_PAGE_SIZE}, in the sandbox's process; resident ${mib(process.memoryUsage().rss)})`,
  );
  checkAndPlan(snapshot, resolveTargetVersion(`${from.major}.${from.minor + 1}`));
}

{
  const [snapshot, buildMs] = timed(() =>
    syntheticCluster({
      seed: 42,
      controlPlanes: 3,
      pools: ['general', 'memory', 'compute', 'batch', 'edge'].map((name) => ({ name, nodes: 1000 })),
      workloads: 20_000,
      replicas: [2, 12],
      budgetShare: 0.5,
      daemonSets: 2,
    }),
  );
  console.log(
    `preflight + plan, the seeded synthetic cluster of test/fixtures (built in ${seconds(buildMs)})`,
  );
  checkAndPlan(snapshot, parseVersion('v1.31.14'));
}
