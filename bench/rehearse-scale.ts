/**
 * How long `midflight rehearse` takes (issue 15's speed targets: 1,000 nodes in under 20 s of wall time,
 * `large` in under 2 minutes, on 2 cores), per size of bench/upgrade-scale.ts's generated cluster: one
 * rehearsal run of that cluster's upgrade with upgrade-scale's policy, and where the wall time goes.
 *
 * The "real" cluster is the generated scenario started in this process (virtual clock) and read over HTTP
 * once, as `rehearse` reads any cluster; it is stopped before the rehearsal starts, so what is measured is
 * only the rehearsal: copying the snapshot into a scenario, starting and settling the copy, reading and
 * planning it, and the run. Printed per size: wall time, this process's CPU and CPU per node, the predicted
 * node phase (clock seconds: deterministic, so a change that moves it changed what the copy does) and the
 * rehearsal's outcome.
 *
 * `large` as a size rehearses the built-in `large` scenario (5,000 nodes, 150,000 pods; control plane and
 * workers, to LARGE_TARGET) with the same policy, its drains allowed to delete bare pods. `large/N` is the
 * same cluster's shape at 1/N of its size (pools and workload copies divided by N): 30 pods a node, as
 * `large`, where the generated clusters have 7; a quicker way to see what `large` costs per node.
 *
 * It runs with the Node flags `midflight rehearse` gives itself (bin/rehearsal-node-flags.js: a larger heap),
 * starting itself once more to get them.
 *
 * Usage: npx tsx bench/rehearse-scale.ts [sizes… (worker counts, large or large/N), default 100 1000]
 */

import { KubeConfig } from '@kubernetes/client-node';
import { rehearsalNodeFlags, restartWithNodeFlags } from '../bin/rehearsal-node-flags.js';
import { parseVersion } from '../src/core/versions.ts';
import { readSnapshot } from '../src/kube/snapshot.ts';
import { type Policy, validatePolicy } from '../src/plan/index.ts';
import { rehearsalTimings, rehearse } from '../src/rehearse/index.ts';
import { startInProcess } from '../src/sandbox/in-process.ts';
import type { Scenario } from '../src/sandbox/scenario/scenario-types.ts';
import { benchScenario } from './harness/bench-size.ts';
import { GENERATED_TARGET } from './harness/generated-scenario.ts';
import { LARGE_TARGET } from './harness/large-scenario.ts';

/** Upgrade-scale's policy: the generated cluster's physics as timings (pods exit in 5 s, nodes reboot in 60 s). */
const policyResult = validatePolicy(
  {
    defaults: { maxUnavailable: '10%' },
    canary: { nodes: 1, soak: '2m' },
    timings: { nodeDrain: '5s', nodeUpgrade: '60s', waveSoak: '30s' },
    provider: { kind: 'command', command: 'true' },
  },
  'bench-policy.yaml',
);
if (!policyResult.ok) throw new Error(JSON.stringify(policyResult.errors));
const policy = policyResult.policy;

/**
 * The generated clusters' policy, with drains that may delete the large scenario's bare pods (its `debug`
 * pods have no controller; without `force` they would hold their nodes' drains for good).
 */
const largePolicyResult = validatePolicy(
  {
    defaults: { maxUnavailable: '10%' },
    canary: { nodes: 1, soak: '2m' },
    timings: { nodeDrain: '5s', nodeUpgrade: '60s', waveSoak: '30s' },
    drain: { force: true, deleteEmptyDirData: true },
    provider: { kind: 'command', command: 'true' },
  },
  'bench-large-policy.yaml',
);
if (!largePolicyResult.ok) throw new Error(JSON.stringify(largePolicyResult.errors));
const largePolicy = largePolicyResult.policy;

interface BenchCase {
  label: string;
  scenario: Scenario;
  target: string;
  policy: Policy;
  /** The policy's timings stated in its file (the rest are defaults). */
  timingKeys: string[];
}

function benchCase(size: string): BenchCase {
  const bench = benchScenario(size);
  if (!bench) {
    console.error('usage: npx tsx bench/rehearse-scale.ts [workers… | large | large/N]');
    process.exit(2);
  }
  return {
    ...bench,
    target: bench.large ? LARGE_TARGET : GENERATED_TARGET,
    policy: bench.large ? largePolicy : policy,
    timingKeys: ['nodeDrain', 'nodeUpgrade'],
  };
}

async function benchSize(bench: BenchCase): Promise<string> {
  const original = await startInProcess(bench.scenario);
  const kc = new KubeConfig();
  kc.loadFromString(original.kubeconfig);
  const snapshot = await readSnapshot(kc, { clock: original.clock, helmReleases: false });
  await original.stop();

  const cpuBefore = process.cpuUsage();
  const wallStart = performance.now();
  const report = await rehearse({
    snapshot,
    target: parseVersion(bench.target),
    policy: bench.policy,
    timings: rehearsalTimings(bench.policy, bench.timingKeys),
    runs: 1,
    seed: 1,
    now: Date.now(),
  });
  const wallMs = performance.now() - wallStart;
  const used = process.cpuUsage(cpuBefore);
  const cpuMs = (used.user + used.system) / 1000;
  const nodes = snapshot.nodes.length;
  return [
    bench.label,
    `${(wallMs / 1000).toFixed(1)} s wall`,
    `${(cpuMs / 1000).toFixed(1)} s CPU (${(cpuMs / nodes).toFixed(0)} ms per node)`,
    `node phase ${report.nodePhase ? `${Math.round(report.nodePhase.medianSeconds)} s` : '—'}`,
    `total ${report.total ? `${Math.round(report.total.medianSeconds)} s` : '—'}`,
    report.outcome.finishes ? 'finishes' : `does not finish: ${report.outcome.reason}`,
  ].join(' | ');
}

const sizes = process.argv.slice(2);
const nodeFlags = rehearsalNodeFlags();
if (nodeFlags.length > 0) restartWithNodeFlags(process.argv[1]!, sizes, nodeFlags);
else
  for (const bench of (sizes.length > 0 ? sizes : ['100', '1000']).map(benchCase))
    console.log(await benchSize(bench));
