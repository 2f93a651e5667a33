import { describe, expect, it } from 'vitest';
import { type BackupEntry, METADATA_FORMAT, restoreRunbook } from '../../src/backup/index.ts';

const entry = (kind?: 'sandbox-store'): BackupEntry => ({
  file: '/b/etcd-20261207T120000Z-run-1.db',
  takenAt: '2026-12-07T12:00:00.000Z',
  size: 24608,
  metadata: {
    format: METADATA_FORMAT,
    ...(kind ? { kind } : {}),
    file: 'etcd-20261207T120000Z-run-1.db',
    takenAt: '2026-12-07T12:00:00.000Z',
    clusterId: '1',
    member: { id: '2', name: 'cp-1', endpoint: 'https://10.0.0.1:2379' },
    etcdVersion: '3.5.15',
    revision: 4711,
    keys: 812,
    size: 24608,
    sha256: 'ab'.repeat(32),
    runId: 'run-1',
  },
});
const base = { runId: 'run-1', from: 'v1.30.6', to: 'v1.31.2', members: ['cp-1', 'cp-2'], backupDir: '/b' };

describe('the restore runbook rollback prints for a run that moved the control plane', () => {
  it('walks through verify, stop, restore on every member with one new cluster, downgrade, and the workers', () => {
    const text = restoreRunbook({ ...base, backup: entry() }).join('\n');
    expect(text).toMatch(/^The control plane of run-1 moved from v1\.30\.6 to v1\.31\.2 \(cp-1, cp-2\)/);
    expect(text).toMatch(
      /\/b\/etcd-20261207T120000Z-run-1\.db \(taken 2026-12-07T12:00:00\.000Z, revision 4711, 812 keys/,
    );
    expect(text).toContain(
      'midflight backup verify /b/etcd-20261207T120000Z-run-1.db && midflight backup drill',
    );
    expect(text).toContain('--initial-cluster cp-1=https://<cp-1-ip>:2380,cp-2=https://<cp-2-ip>:2380');
    expect(text).toContain('--initial-cluster-token restore-run-1');
    expect(text).toContain('/version must report v1.30.6');
    expect(text).toContain('midflight rollback run-1 returns the worker nodes');
  });

  it.each([
    [{ backup: entry('sandbox-store') }, /a sandbox cannot restore its store in place yet/],
    [
      { hook: './backup.sh {runId}' },
      /The run's backup was hooks\.backup \(\.\/backup\.sh \{runId\}\): restore with that tool's procedure/,
    ],
    [{}, /No snapshot of run-1 in \/b: without one there is no way back past the control plane/],
  ])('says what exists otherwise: %j', (extra, says) => {
    expect(restoreRunbook({ ...base, ...extra }).join('\n')).toMatch(says);
  });
});
