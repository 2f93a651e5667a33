import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/versions.ts';
import { checkEtcdBackup } from '../../src/preflight/etcd-backup.ts';
import type { PreflightOptions } from '../../src/preflight/finding.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const HOUR = 3_600_000;
const stacked = new ClusterBuilder('v1.30.4', 'https://x.example:6443')
  .controlPlane('cp-1')
  .node('w-1')
  .build();
const managed = new ClusterBuilder('v1.30.4', 'https://x.example:6443').node('w-1').build();
const at = (hoursAgo: number) => new Date(NOW - hoursAgo * HOUR).toISOString();

describe('etcd-backup', () => {
  it.each<[string, typeof stacked, string, PreflightOptions, Array<[string, RegExp]>]>([
    ['stacked etcd: the run takes its own backup', stacked, 'v1.31.2', {}, []],
    ['only a patch: the control plane stays', managed, 'v1.30.4', {}, []],
    [
      'managed, no hook',
      managed,
      'v1.31.2',
      {},
      [['warning', /no etcd backup will be taken .*the provider manages etcd .*hooks\.backup is not set/]],
    ],
    [
      'managed, no hook, required',
      managed,
      'v1.31.2',
      { etcdBackup: { required: true } },
      [['blocker', /no etcd backup will be taken/]],
    ],
    ['managed with hooks.backup', managed, 'v1.31.2', { hooks: { backup: 'velero backup create x' } }, []],
    [
      'managed with etcdBackup.endpoints',
      managed,
      'v1.31.2',
      { etcdBackup: { endpoints: ['https://e:2379'] } },
      [],
    ],
    ['backups turned off', managed, 'v1.31.2', { etcdBackup: { enabled: false, required: true } }, []],
    [
      'maxAge, no snapshot, required',
      stacked,
      'v1.31.2',
      { etcdBackup: { maxAge: '24h', required: true, dir: '/b' } },
      [['blocker', /no snapshot in \/b: a recent, verified backup must exist/]],
    ],
    [
      'maxAge, stale snapshot',
      stacked,
      'v1.31.2',
      {
        etcdBackup: { maxAge: '24h' },
        newestBackup: { file: '/b/e.db', takenAt: at(30), verifiedAt: at(29) },
      },
      [['warning', /the newest snapshot \(\/b\/e\.db\) is 1d6h old, more than etcdBackup\.maxAge 24h/]],
    ],
    [
      'maxAge, unverified snapshot, required',
      stacked,
      'v1.31.2',
      { etcdBackup: { maxAge: '24h', required: true }, newestBackup: { file: '/b/e.db', takenAt: at(2) } },
      [['blocker', /the newest snapshot \(\/b\/e\.db\) was never verified/]],
    ],
    [
      'maxAge, fresh verified snapshot',
      stacked,
      'v1.31.2',
      {
        etcdBackup: { maxAge: '24h', required: true },
        newestBackup: { file: '/b/e.db', takenAt: at(2), verifiedAt: at(1) },
      },
      [],
    ],
  ])('%s', (_, snapshot, target, options, expected) => {
    const findings = checkEtcdBackup(snapshot, parseVersion(target), options, NOW);
    expect(findings.map((f) => f.severity)).toEqual(expected.map(([severity]) => severity));
    findings.forEach((f, i) => {
      expect(f.id).toBe('etcd-backup');
      expect(f.message).toMatch(expected[i]![1]);
    });
  });
});
