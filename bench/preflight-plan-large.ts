/**
 * Times preflight and planning on a `large`-sized cluster (5,000 nodes, 150,000 pods), built in memory from
 * the same seeded generator the tests use. Target (issue 3): under 10 s for both together on 2 cores.
 */
import { parseVersion } from '../src/core/versions.ts';
import { planUpgrade } from '../src/plan/planner.ts';
import { defaultPolicy } from '../src/plan/policy.ts';
import { runPreflight } from '../src/preflight/index.ts';
import { syntheticCluster } from '../test/fixtures/snapshots/synthetic-cluster.ts';

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

let started = performance.now();
const snapshot = syntheticCluster({
  seed: 42,
  controlPlanes: 3,
  pools: ['general', 'memory', 'compute', 'batch', 'edge'].map((name) => ({ name, nodes: 1000 })),
  workloads: 20_000,
  replicas: [2, 12],
  budgetShare: 0.5,
  daemonSets: 2,
});
const buildMs = performance.now() - started;

const policy = defaultPolicy();
policy.defaults.maxUnavailable = '5%';
const target = parseVersion('v1.31.14');

started = performance.now();
const report = runPreflight(snapshot, target, policy, Date.parse(snapshot.takenAt));
const preflightMs = performance.now() - started;

started = performance.now();
const plan = planUpgrade(snapshot, target, policy);
const planMs = performance.now() - started;
const steps = plan.phases.reduce((n, p) => n + p.steps.length, 0);

console.log('preflight + plan, large cluster');
console.log(
  `  cluster                  ${snapshot.nodes.length} nodes, ${snapshot.pods.length} pods, ${snapshot.pdbs.length} budgets (built in ${seconds(buildMs)})`,
);
console.log(
  `  preflight                ${seconds(preflightMs)}: ${report.counts.blocker} blockers, ${report.counts.warning} warnings, ${report.counts.info} info`,
);
console.log(
  `  plan                     ${seconds(planMs)}: ${steps} steps, ${plan.estimate.nodeRounds} node rounds (lower bound ${plan.estimate.lowerBound.rounds})`,
);
console.log(`  together                 ${seconds(preflightMs + planMs)} (target < 10 s)`);
