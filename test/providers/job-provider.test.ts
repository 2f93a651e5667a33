/** The job provider against the sandbox, whose kubelets run annotated upgrade Jobs as real upgraders would. */
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../src/core/clock.ts';
import { startRun } from '../../src/engine/index.ts';
import {
  JobProvider,
  ProviderError,
  type UpgradeContext,
  upgradeJobName,
} from '../../src/providers/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import {
  CountingProvider,
  expectUpgraded,
  FAST,
  harness,
  planFor,
  startCluster,
  TIME_SCALE,
  WORKERS_CLUSTER,
} from '../engine/engine-harness.ts';
import { patchFaults } from '../kube/sandbox-faults.ts';

describe('JobProvider', () => {
  let sandbox: RunningSandbox;
  let provider: JobProvider;
  beforeAll(async () => {
    sandbox = await startCluster(WORKERS_CLUSTER);
    provider = new JobProvider({
      kc: sandbox.kubeConfig(),
      clock: new ScaledClock(TIME_SCALE),
      image: 'registry.example.com/node-upgrader:1.0',
      command: ['/usr/local/bin/upgrade-node'],
      pollIntervalMs: 1_000,
      timeoutMs: 120_000,
    });
  }, 30_000);
  afterAll(async () => sandbox?.stop());

  const context = (node: string, lines: string[] = []): UpgradeContext => ({
    node,
    version: 'v1.31.2',
    previousVersion: 'v1.30.6',
    pool: 'general',
    role: 'worker',
    runId: 'run-test',
    signal: new AbortController().signal,
    // The job provider's output is the Job's pod logs: nothing is written here.
    outputFile: '/nonexistent/upgrade.log',
    log: (l) => lines.push(l),
  });
  const jobs = () =>
    sandbox
      .kubeConfig()
      .makeApiClient(BatchV1Api)
      .listNamespacedJob({ namespace: 'kube-system' })
      .then((l) => l.items);

  it('pins a tolerant, annotated, run-labelled Job to the node with a deterministic name', () => {
    const job = provider.jobFor(context('general-1'));
    expect(job.metadata?.name).toBe(upgradeJobName('run-test', 'general-1', 'v1.31.2'));
    expect(job.metadata?.name).toMatch(/^midflight-upgrade-general-1-[0-9a-f]{10}$/);
    expect(job.spec?.backoffLimit).toBe(0);
    const pod = job.spec!.template.spec!;
    expect(pod.nodeName).toBe('general-1');
    expect(pod.tolerations?.map((t) => t.key)).toEqual(
      expect.arrayContaining([
        'node.kubernetes.io/unschedulable',
        'node.kubernetes.io/not-ready',
        'node.kubernetes.io/unreachable',
      ]),
    );
    expect(job.spec!.template.metadata?.annotations).toEqual({
      'upgrade.midflight.dev/target-version': 'v1.31.2',
    });
    expect(job.metadata?.labels?.['upgrade.midflight.dev/run-id']).toBe('run-test');
    expect(pod.containers[0]).toMatchObject({
      image: 'registry.example.com/node-upgrader:1.0',
      command: ['/usr/local/bin/upgrade-node'],
    });
  });

  it('re-attaches to the Job a previous process created instead of starting a second one', async () => {
    const ctx = context('general-3');
    await sandbox
      .kubeConfig()
      .makeApiClient(BatchV1Api)
      .createNamespacedJob({ namespace: 'kube-system', body: provider.jobFor(ctx) });
    const lines: string[] = [];
    await provider.upgradeNode({ ...ctx, log: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/^re-attaching to job kube-system\/midflight-upgrade-general-3-/);
    const pods = await sandbox.kubeConfig().makeApiClient(CoreV1Api).listNamespacedPod({
      namespace: 'kube-system',
      labelSelector: 'upgrade.midflight.dev/node=general-3',
    });
    expect(pods.items.length).toBeLessThanOrEqual(1);
    expect(await jobs()).toEqual([]);
  }, 20_000);

  it('fails with the Job failure when the upgrade fails, and removes the Job so a retry starts afresh', async () => {
    await patchFaults(sandbox, { upgradeFailures: { 'general-2': 1 } });
    const err = await provider.upgradeNode(context('general-2')).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toMatch(/job kube-system\/midflight-upgrade-general-2-\w+ failed on general-2/);
    // What the Job's container printed, read back through pods/log: the upgrade it tried and why it failed.
    expect(err.outputTail).toEqual([
      'upgrading node general-2 to v1.31.2',
      expect.stringMatching(/^upgrade of node general-2 failed: .*injected fault/),
      'exit status 1',
    ]);
    expect(await jobs()).toEqual([]);
  }, 20_000);

  it('waits for the Job without a limit when the timeout is 0', async () => {
    const unlimited = new JobProvider({
      kc: sandbox.kubeConfig(),
      clock: new ScaledClock(TIME_SCALE),
      image: 'registry.example.com/node-upgrader:1.0',
      command: ['/usr/local/bin/upgrade-node'],
      pollIntervalMs: 1_000,
      timeoutMs: 0,
    });
    // A failing upgrade ends the Job: the provider reports how it ended, not that no time was left.
    await patchFaults(sandbox, { upgradeFailures: { 'general-2': 1 } });
    const err = await unlimited.upgradeNode(context('general-2')).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toMatch(/job kube-system\/midflight-upgrade-general-2-\w+ failed on general-2/);
    // What the Job's container printed, read back through pods/log: the upgrade it tried and why it failed.
    expect(err.outputTail).toEqual([
      'upgrading node general-2 to v1.31.2',
      expect.stringMatching(/^upgrade of node general-2 failed: .*injected fault/),
      'exit status 1',
    ]);
  }, 20_000);

  it('drives a whole run', async () => {
    const counting = new CountingProvider(provider);
    const h = harness(sandbox, counting);
    try {
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2'), FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      await expectUpgraded(sandbox, 'v1.31.2');
      // general-3 was upgraded by the re-attach test: the plan leaves it out.
      expect([...counting.calls.keys()].sort()).toEqual(['general-1', 'general-2']);
      expect(await jobs()).toEqual([]);
    } finally {
      h.cleanup();
    }
  }, 30_000);
});
