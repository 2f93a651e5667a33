/**
 * The two faults behind M6 and M7, in virtual time on a whole in-process sandbox (these run where no
 * Prometheus is installed; test/sandbox/sli-metrics.test.ts reads the same series through a real one).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/core/clock.ts';
import { R } from '../../../src/sandbox/api/resources.ts';
import { Sandbox } from '../../../src/sandbox/sandbox.ts';
import { scenarioFromYaml } from '../integration/integration-helpers.ts';

const SCENARIO = scenarioFromYaml(`
name: storage
kubernetesVersion: v1.31.4
controlPlane: { nodes: 3 }
nodePools: [{ name: general, count: 2, capacity: { cpu: "8", memory: 32Gi } }]
workloads:
  - { name: db, namespace: data, kind: StatefulSet, replicas: 2, storageClass: fast-ssd }
  - { name: cache, namespace: data, kind: Deployment, replicas: 1, storageClass: local }
objects:
  - { apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: { name: local }, provisioner: hostpath.csi.k8s.io }
`);

let box: Sandbox | undefined;
afterEach(async () => {
  await box?.stop();
  box = undefined;
});

async function start() {
  const clock = new VirtualClock();
  box = await Sandbox.start({ scenario: SCENARIO, clock });
  const settle = box.waitUntilSettled();
  while (box.workloadsNotReady().length > 0) await clock.advance(1_000);
  await clock.advance(1_000);
  await settle;
  return { box, clock, ctx: box.ctx };
}

/** The values of one metric, by its label set as `k=v,…` (metricName included for histograms). */
async function valuesOf(sandbox: Sandbox, name: string): Promise<Record<string, number>> {
  const metric = sandbox.ctx.metrics.getSingleMetric(name);
  const got = (await metric?.get()) as {
    values: Array<{ labels: object; value: number; metricName?: string }>;
  };
  return Object.fromEntries(
    (got?.values ?? []).map((v) => [
      `${v.metricName ?? name}{${Object.entries(v.labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => `${k}=${x}`)
        .join(',')}}`,
      v.value,
    ]),
  );
}

describe('the csiAttachFailures fault', () => {
  it('fails the attaches of its class only, holds the pod in ContainerCreating, and lets go once cleared', async () => {
    const { ctx, clock } = await start();
    const attachments = ctx.store.list(R.volumeattachments);
    // db's two volumes attach (a block store); cache's class is the hostpath driver, which attaches nothing.
    expect(attachments).toHaveLength(2);
    expect(attachments.every((a) => a.status?.attached === true)).toBe(true);
    expect(attachments.map((a) => a.spec.attacher)).toEqual([
      'block.csi.sandbox.midflight.dev',
      'block.csi.sandbox.midflight.dev',
    ]);

    ctx.faults.csiAttachFailures.add('fast-ssd');
    ctx.store.remove(R.pods, 'data', 'db-1');
    await clock.advance(30_000);
    const pod = ctx.store.get(R.pods, 'data', 'db-1')!;
    expect(pod.status.phase).toBe('Pending');
    const failed = ctx.store.list(R.volumeattachments).filter((a) => a.status?.attached === false);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.status.attachError.message).toContain('class fast-ssd');
    const counts = await valuesOf(box!, 'storage_operation_duration_seconds');
    const key = (status: string, op = 'volume_attach') =>
      `storage_operation_duration_seconds_count{migrated=false,operation_name=${op},status=${status},volume_plugin=kubernetes.io/csi:block.csi.sandbox.midflight.dev}`;
    // Bound at once, tried 2 s later and every 10 s after: 3 failures in 30 s.
    expect(counts[key('fail-unknown')]).toBe(3);
    expect(counts[key('success', 'volume_detach')]).toBe(1);

    ctx.faults.csiAttachFailures.clear();
    await clock.advance(20_000);
    expect(ctx.store.get(R.pods, 'data', 'db-1')!.status.phase).toBe('Running');
    expect(ctx.store.list(R.volumeattachments).every((a) => a.status?.attached === true)).toBe(true);
  });
});

describe('the etcdSlowDisk fault', () => {
  it('moves the slow member’s commit latency from milliseconds to hundreds of them, and no other’s', async () => {
    const { ctx, clock } = await start();
    ctx.faults.etcdSlowDisk.set('cp-2', 400);
    const before = await valuesOf(box!, 'etcd_disk_backend_commit_duration_seconds');
    await clock.advance(60_000);
    const after = await valuesOf(box!, 'etcd_disk_backend_commit_duration_seconds');
    const mean = (pod: string) => {
      const sum = `etcd_disk_backend_commit_duration_seconds_sum{pod=${pod}}`;
      const count = `etcd_disk_backend_commit_duration_seconds_count{pod=${pod}}`;
      return (after[sum]! - (before[sum] ?? 0)) / (after[count]! - (before[count] ?? 0));
    };
    // A few batches per 5 s sample here: the spread around the mean (×0.5 … ×2) is dealt in whole commits.
    expect(mean('etcd-cp-2')).toBeGreaterThan(0.3);
    expect(mean('etcd-cp-2')).toBeLessThan(0.6);
    expect(mean('etcd-cp-1')).toBeLessThan(0.01);
    // Commits are batched at most ten a second: 60 s of heartbeats make up to 600 per member.
    const commits = after['etcd_disk_backend_commit_duration_seconds_count{pod=etcd-cp-1}']!;
    expect(commits).toBeGreaterThan(0);
    expect(
      commits - (before['etcd_disk_backend_commit_duration_seconds_count{pod=etcd-cp-1}'] ?? 0),
    ).toBeLessThanOrEqual(600);
  });
});
