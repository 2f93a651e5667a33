/**
 * How long `midflight rehearse` takes (issue 15's speed targets: 1,000 nodes in under 20 s of wall time,
 * `large` in under 2 minutes, on 2 cores), per size of bench/upgrade-scale.ts's generated cluster: one
 * rehearsal run of that cluster's upgrade with upgrade-scale's policy, and where the wall time goes.
 *
 * The "real" cluster is the generated scenario started in this process (virtual clock) and read over HTTP
 * once, as `rehearse` reads any cluster; it is stopped before the rehearsal starts, so what is measured is
 * only the rehearsal: copying the snapshot into a scenario, starting and settling the copy, reading and
 * planning it, and the run. Printed per size: wall time, this process's CPU and CPU per node, the predicted
 * node phase (clock) and the rehearsal's outcome.
 *
 * Usage: npx tsx bench/rehearse-scale.ts [sizes…, default 100 1000]
 */
import { KubeConfig } from '@kubernetes/client-node';
import { parseVersion } from '../src/core/versions.ts';
import { readSnapshot } from '../src/kube/snapshot.ts';
import { validatePolicy } from '../src/plan/index.ts';
import { rehearsalTimings, rehearse } from '../src/rehearse/index.ts';
import { startInProcess } from '../src/sandbox/in-process.ts';
import { parseScenario } from '../src/sandbox/scenario/parse-scenario.ts';
import { GENERATED_TARGET, generatedScenarioYaml } from './harness/generated-scenario.ts';

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

async function benchSize(workers: number): Promise<string> {
  const original = await startInProcess(parseScenario(generatedScenarioYaml(workers), 'bench.yaml'));
  const kc = new KubeConfig();
  kc.loadFromString(original.kubeconfig);
  const snapshot = await readSnapshot(kc, { clock: original.clock, helmReleases: false });
  await original.stop();

  const cpuBefore = process.cpuUsage();
  const wallStart = performance.now();
  const report = await rehearse({
    snapshot,
    target: parseVersion(GENERATED_TARGET),
    policy,
    timings: rehearsalTimings(policy, ['nodeDrain', 'nodeUpgrade']),
    runs: 1,
    seed: 1,
    now: Date.now(),
  });
  const wallMs = performance.now() - wallStart;
  const used = process.cpuUsage(cpuBefore);
  const cpuMs = (used.user + used.system) / 1000;
  const nodes = snapshot.nodes.length;
  return [
    `${workers} workers`,
    `${(wallMs / 1000).toFixed(1)} s wall`,
    `${(cpuMs / 1000).toFixed(1)} s CPU (${(cpuMs / nodes).toFixed(0)} ms per node)`,
    `node phase ${report.nodePhase ? `${Math.round(report.nodePhase.medianSeconds / 60)} min` : '—'}`,
    report.outcome.finishes ? 'finishes' : `does not finish: ${report.outcome.reason}`,
  ].join(' | ');
}

const sizes = process.argv.slice(2).map(Number);
for (const workers of sizes.length > 0 ? sizes : [100, 1000]) {
  if (!Number.isInteger(workers) || workers < 1) {
    console.error('usage: npx tsx bench/rehearse-scale.ts [workers…]');
    process.exit(2);
  }
  console.log(await benchSize(workers));
}
