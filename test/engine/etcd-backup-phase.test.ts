import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups } from '../../src/backup/index.ts';
import { startRun } from '../../src/engine/index.ts';
import type { RunEvent } from '../../src/engine/run-events.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { type EtcdCluster, requireBinary, startEtcdCluster } from '../e2e/etcd-harness.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import {
  CountingProvider,
  commandProvider,
  FAST,
  harness,
  planFor,
  SMALL_CLUSTER,
  startCluster,
  TIME_SCALE,
  testPolicy,
} from './engine-harness.ts';

const hasEtcd = requireBinary('etcd', 'etcd-server') && requireBinary('etcdctl', 'etcd-client');

/**
 * Runs a plan of `sandbox` until its etcd-backup step ends, then stops it (paused) before the control plane;
 * `backups` are those of the state store's default folder.
 */
async function runBackupPhase(
  sandbox: RunningSandbox,
  etcdBackup?: Record<string, unknown>,
  options: { skipEtcdBackup?: string } = {},
) {
  const plan = await planFor(sandbox, 'v1.31.2', etcdBackup ? testPolicy({ etcdBackup }) : undefined);
  const provider = new CountingProvider(commandProvider(sandbox));
  const h = harness(sandbox, provider);
  const stop = new AbortController();
  const onEvent = (e: RunEvent) => {
    h.events.push(e);
    if (e.type === 'step-finished' && e.stepId === 'etcd-backup') stop.abort();
  };
  try {
    const summary = await startRun({ ...h.deps, onEvent }, plan, {
      ...FAST,
      ...options,
      signal: stop.signal,
    });
    const said = h.deps.store.logs(summary.runId).map((l) => l.message);
    const backups = listBackups(join(dirname(h.statePath), 'etcd-backups'));
    return { plan, summary, said, calls: provider.calls.size, backups };
  } finally {
    h.cleanup();
  }
}

describe.skipIf(!hasEtcd)('the etcd-backup phase against a real 3-member etcd', () => {
  let sandbox: RunningSandbox;
  let etcd: EtcdCluster;
  let dir: string;
  beforeAll(async () => {
    [sandbox, etcd] = await Promise.all([startCluster(SMALL_CLUSTER), startEtcdCluster({ members: 3 })]);
    for (let i = 0; i < 10; i++) await etcd.client('etcd-0').put(`/registry/secrets/default/s-${i}`, `${i}`);
    dir = mkdtempSync(join(tmpdir(), 'midflight-phase-backups-'));
  }, 120_000);
  afterAll(async () => {
    await Promise.all([sandbox?.stop(), etcd?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('saves, verifies and drills a snapshot from the policy endpoints before the first control-plane step', async () => {
    const { plan, summary, said, calls } = await runBackupPhase(sandbox, {
      endpoints: etcd.endpoints,
      dir,
      drill: true,
    });
    expect(plan.phases[1]!.steps[0]!.title).toBe('Back up etcd: save, verify and drill a snapshot');
    expect(summary.phases.find((p) => p.kind === 'etcd-backup')?.status).toBe('done');
    expect(summary.phases.find((p) => p.kind === 'control-plane')?.status).not.toBe('done');
    expect(calls).toBe(0);
    const [backup] = listBackups(dir);
    expect(backup?.file).toMatch(new RegExp(`etcd-\\d{8}T\\d{6}Z-${summary.runId}\\.db$`));
    expect(backup?.metadata).toMatchObject({ runId: summary.runId, keys: 10 });
    expect(backup?.metadata?.verifiedAt).toBeDefined();
    expect(backup?.metadata?.drilledAt).toBeDefined();
    expect(said.join('\n')).toMatch(
      /etcd backup: drill passed: restored in \d+ ms, a scratch etcd served revision \d+ with 10 keys/,
    );
  }, 180_000);

  it('stops the run in the backup phase, the control plane untouched, when no member gives a snapshot', async () => {
    const { summary, calls } = await runBackupPhase(sandbox, { endpoints: ['http://127.0.0.1:1'], dir });
    expect(summary.state).toBe('failed');
    expect(summary.reason).toMatch(
      /etcd backup: save: .*no etcd member could give a snapshot: etcd http:\/\/127\.0\.0\.1:1/,
    );
    expect(summary.phases.find((p) => p.kind === 'control-plane')?.status).toBe('pending');
    expect(calls).toBe(0);
  }, 180_000);
});

describe.skipIf(!hasEtcd)('the etcd-backup phase on a sandbox kept in etcd', () => {
  it("snapshots the sandbox's etcd as it would a real cluster's, not its store through the admin API", async () => {
    const etcd = await startEtcdCluster({ members: 1 });
    const sandbox = await startSandbox({
      scenario: parseScenario(SMALL_CLUSTER, 'engine-test.yaml'),
      timeScale: TIME_SCALE,
      etcd: { endpoint: etcd.endpoints[0]! },
    });
    try {
      const { summary, said, backups } = await runBackupPhase(sandbox);
      expect(summary.phases.find((p) => p.kind === 'etcd-backup')?.status).toBe('done');
      expect(said).toContain(`etcd backup: a sandbox cluster kept in etcd at ${etcd.endpoints[0]}`);
      const [backup] = backups;
      // A real etcd snapshot: etcd's own revision and its /registry keys, every node among them.
      expect(backup?.metadata?.verifiedAt).toBeDefined();
      expect(backup?.metadata?.keys).toBeGreaterThan(
        (await sandbox.kubeConfig().makeApiClient(CoreV1Api).listNode()).items.length,
      );
    } finally {
      await sandbox.stop();
      await etcd.stop();
    }
  }, 180_000);
});

describe('a run on a copy of a cluster (a rehearsal)', () => {
  it('skips the etcd-backup phase with the reason it is given, and saves nothing', async () => {
    const sandbox = await startCluster(SMALL_CLUSTER);
    try {
      const { summary, said, backups } = await runBackupPhase(sandbox, undefined, {
        skipEtcdBackup: 'a rehearsal backs up nothing: it runs on a copy',
      });
      expect(summary.phases.find((p) => p.kind === 'etcd-backup')?.status).toBe('skipped');
      expect(said).toContain('etcd backup skipped: a rehearsal backs up nothing: it runs on a copy');
      expect(backups).toEqual([]);
    } finally {
      await sandbox.stop();
    }
  }, 120_000);
});
