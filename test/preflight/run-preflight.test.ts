import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/versions.ts';
import { CHECK_IDS, runPreflight } from '../../src/preflight/index.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

const NOW = Date.parse('2026-01-15T10:00:00Z');

describe('runPreflight', () => {
  const healthy = new ClusterBuilder('v1.30.4')
    .controlPlane('cp-1')
    .node('w-1')
    .node('w-2')
    .workload('app', 'web', { replicas: 2, on: ['w-1', 'w-2'] })
    .pdb('app', 'web', 'web', { maxUnavailable: 1 })
    .build();

  it('exits 0 when nothing blocks', () => {
    const report = runPreflight(healthy, parseVersion('v1.31.2'), {}, NOW);
    expect(report.counts.blocker).toBe(0);
    expect(report.exitCode).toBe(0);
  });

  it('exits 1 on a blocker and lists blockers first', () => {
    const report = runPreflight(healthy, parseVersion('v1.29.0'), {}, NOW);
    expect(report.exitCode).toBe(1);
    expect(report.findings[0]).toMatchObject({ id: 'version-path', severity: 'blocker' });
  });

  it('skips the checks the policy names', () => {
    const report = runPreflight(
      healthy,
      parseVersion('v1.29.0'),
      { preflight: { skip: ['version-path'] } },
      NOW,
    );
    expect(report.findings.some((f) => f.id === 'version-path')).toBe(false);
  });

  it('has a stable, documented set of check ids', () => {
    expect(CHECK_IDS).toEqual([
      'version-path',
      'version-skew',
      'removed-api',
      'pdb-blocks-drain',
      'no-disruption-budget',
      'unmanaged-pod',
      'local-storage',
      'capacity',
      'node-health',
      'webhook-fail-closed',
      'runtime-compat',
      'certificates',
      'etcd-backup',
    ]);
  });
});
