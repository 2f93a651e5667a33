import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/versions.ts';
import { checkEtcdBackup } from '../../src/preflight/etcd-backup.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

describe('etcd-backup', () => {
  const snapshot = new ClusterBuilder('v1.30.4', 'https://x.example:6443').controlPlane('cp-1').build();
  it.each([
    ['control plane moves, no hooks.backup', 'v1.31.2', {}, 1],
    ['control plane moves, hooks.backup set', 'v1.31.2', { hooks: { backup: './backup.sh' } }, 0],
    ['control plane moves, backups turned off', 'v1.31.2', { etcdBackup: { enabled: false } }, 0],
    ['only a patch of nodes: the control plane stays', 'v1.30.4', {}, 0],
  ])('%s → %i warning(s)', (_, target, options, count) => {
    const findings = checkEtcdBackup(snapshot, parseVersion(target), options, 0);
    expect(findings).toHaveLength(count);
    for (const f of findings) {
      expect(f).toMatchObject({ id: 'etcd-backup', severity: 'warning' });
      expect(f.message).toMatch(/no etcd backup will be taken/);
    }
  });
});
