/**
 * What clock time costs a rehearsal's copy of a cluster when nothing moves: the CPU per simulated hour of an
 * idle copy (no client, no upgrade), with what it wrote in that hour. It matters because a rehearsal of
 * `large` can wait hours of clock time (a DaemonSet rolled one node at a time in the add-ons step) while the
 * copy renews 5,000 Leases every 10 s, reports node status, and records and expires Events.
 *
 * As bench/rehearse-scale.ts does, the "real" cluster (a generated scenario, or `large/N`) is started in this
 * process on a virtual clock and read over HTTP once, then stopped; its copy is built from that snapshot as
 * `midflight rehearse` builds it (clusterToScenario, plain HTTP) and started, and once settled, the clock is
 * let run for `--hours` hours with nothing else in the process. Printed per simulated hour: wall time, this
 * process's CPU in total and per node, timers fired, and store writes by resource and kind (what a client
 * watching would see: lease renewals, node status reports, Events created and deleted).
 *
 * Usage: npx tsx bench/idle-cost.ts [sizes… (worker counts, large or large/N), default large/5 1000] [--hours N]
 */

import { KubeConfig } from '@kubernetes/client-node';
import { rehearsalNodeFlags, restartWithNodeFlags } from '../bin/rehearsal-node-flags.js';
import { readSnapshot } from '../src/kube/snapshot.ts';
import { clusterToScenario } from '../src/rehearse/index.ts';
import { startInProcess } from '../src/sandbox/in-process.ts';
import type { Scenario } from '../src/sandbox/scenario/scenario-types.ts';
import type { StoreEvent } from '../src/sandbox/store/types.ts';
import { benchScenario } from './harness/bench-size.ts';

const HOUR_MS = 3_600_000;

function scenarioOf(size: string): { label: string; scenario: Scenario } {
  const bench = benchScenario(size);
  if (bench) return bench;
  console.error('usage: npx tsx bench/idle-cost.ts [workers… | large | large/N] [--hours N]');
  process.exit(2);
}

async function benchSize(size: string, hours: number): Promise<void> {
  const { label, scenario } = scenarioOf(size);
  const original = await startInProcess(scenario);
  const kc = new KubeConfig();
  kc.loadFromString(original.kubeconfig);
  const snapshot = await readSnapshot(kc, { clock: original.clock, helmReleases: false });
  await original.stop();

  const { scenario: copy } = clusterToScenario(snapshot, { seed: 1 });
  const settleCpu = process.cpuUsage();
  const copyCluster = await startInProcess(copy, { tls: false });
  const settledCpuMs = cpuMsSince(settleCpu);
  const { clock, sandbox } = copyCluster;
  const nodes = snapshot.nodes.length;
  console.log(
    `${label}: ${nodes} nodes, ${snapshot.pods.length} pods; copy settled in ${(settledCpuMs / 1000).toFixed(1)} s CPU`,
  );

  // Bench-only instruments: every write the copy's store takes, and every timer the clock fires.
  // Note: counted without building a key per write, which cost 5 % of an idle hour.
  const writes = new Map<string, Record<StoreEvent['type'], number>>();
  sandbox.ctx.store.onChange((e: StoreEvent) => {
    let counts = writes.get(e.resource);
    if (!counts) {
      counts = { ADDED: 0, MODIFIED: 0, DELETED: 0 };
      writes.set(e.resource, counts);
    }
    counts[e.type]++;
  });
  let timers = 0;
  const setTimer = clock.setTimer.bind(clock);
  clock.setTimer = (ms, fn) =>
    setTimer(ms, () => {
      timers++;
      fn();
    });

  try {
    for (let hour = 1; hour <= hours; hour++) {
      writes.clear();
      timers = 0;
      const cpu = process.cpuUsage();
      const wallStart = performance.now();
      await clock.sleep(HOUR_MS);
      const cpuMs = cpuMsSince(cpu);
      const wallMs = performance.now() - wallStart;
      const written = [...writes]
        .flatMap(([resource, counts]) =>
          Object.entries(counts).flatMap(([type, n]) => (n > 0 ? [[`${resource} ${type}`, n] as const] : [])),
        )
        .sort((a, b) => b[1] - a[1])
        .map(([what, n]) => `${what} ${n}`);
      console.log(
        [
          `  hour ${hour}`,
          `${(wallMs / 1000).toFixed(1)} s wall`,
          `${(cpuMs / 1000).toFixed(2)} s CPU (${(cpuMs / nodes).toFixed(2)} ms per node)`,
          `${timers} timers`,
          `writes: ${written.join(', ') || 'none'}`,
        ].join(' | '),
      );
    }
  } finally {
    await copyCluster.stop();
  }
}

function cpuMsSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const args = process.argv.slice(2);
const hoursAt = args.indexOf('--hours');
const hours = hoursAt >= 0 ? Number(args[hoursAt + 1]) : 2;
const sizes = hoursAt >= 0 ? args.filter((_, i) => i !== hoursAt && i !== hoursAt + 1) : args;
if (!Number.isInteger(hours) || hours < 1) {
  console.error('--hours takes a whole number of hours, at least 1');
  process.exit(2);
}
const nodeFlags = rehearsalNodeFlags();
if (nodeFlags.length > 0) restartWithNodeFlags(process.argv[1]!, args, nodeFlags);
else for (const size of sizes.length > 0 ? sizes : ['large/5', '1000']) await benchSize(size, hours);
