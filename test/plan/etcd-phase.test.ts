/** The plan's etcd phase: where it goes, one member per step, and the quorum rule that refuses the rest. */
import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/versions.ts';
import { type EtcdMemberStep, policyFromYaml, validatePolicy } from '../../src/plan/index.ts';
import { PlanError, planUpgrade } from '../../src/plan/planner.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

const snapshot = () =>
  new ClusterBuilder('v1.30.6', 'https://etcd-phase.example:6443')
    .controlPlane('cp-1', undefined, { externalEtcd: true })
    .node('w-1')
    .build();

const ETCD = `etcd:
  members:
    - {name: a, endpoint: "http://127.0.0.1:2379"}
    - {name: b, endpoint: "http://127.0.0.1:2479"}
    - {name: c, endpoint: "http://127.0.0.1:2579"}
  upgrade: {command: "restart {member} at {endpoint}"}
`;

function policyOf(yaml: string) {
  const result = policyFromYaml(yaml, 'policy.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

describe('the etcd phase', () => {
  it('rolls the members one per step, after the backup and before the control plane', () => {
    const plan = planUpgrade(snapshot(), parseVersion('v1.31.2'), policyOf(`canary: {nodes: 0}\n${ETCD}`));
    expect(plan.phases.map((p) => p.kind)).toEqual([
      'preflight',
      'etcd-backup',
      'etcd',
      'control-plane',
      'node-pool',
      'validation',
    ]);
    const steps = plan.phases.find((p) => p.kind === 'etcd')!.steps as EtcdMemberStep[];
    expect(steps.map((s) => [s.id, s.kind, s.member, s.endpoint, s.nodes, s.version])).toEqual([
      ['etcd-a', 'etcd-member', 'a', 'http://127.0.0.1:2379', [], undefined],
      ['etcd-b', 'etcd-member', 'b', 'http://127.0.0.1:2479', [], undefined],
      ['etcd-c', 'etcd-member', 'c', 'http://127.0.0.1:2579', [], undefined],
    ]);
    expect(steps[0]!.title).toBe('Restart etcd member a');
    expect(steps[0]!.reasons).toContain('the member is upgraded by `restart a at http://127.0.0.1:2379`');
  });

  it.each([
    ['only nodes move', 'v1.30.6', ['preflight', 'etcd-backup', 'etcd', 'node-pool', 'validation']],
    ['Kubernetes already runs the target', 'v1.31.2', ['preflight', 'etcd-backup', 'etcd', 'validation']],
  ])(
    'is there, after a backup, when %s: the etcd cluster is rolled whatever Kubernetes does',
    (_when, kubelet, kinds) => {
      const cluster = new ClusterBuilder('v1.31.2', 'https://etcd-phase.example:6443')
        .controlPlane('cp-1', undefined, { externalEtcd: true })
        .node('w-1', { kubelet })
        .build();
      const plan = planUpgrade(cluster, parseVersion('v1.31.2'), policyOf(`canary: {nodes: 0}\n${ETCD}`));
      expect(plan.phases.map((p) => p.kind)).toEqual(kinds);
      const backup = plan.phases.find((p) => p.kind === 'etcd-backup')!.steps[0]!;
      expect(backup.reasons[0]).toBe(
        'etcd is at http://127.0.0.1:2379, http://127.0.0.1:2479, http://127.0.0.1:2579 (etcdBackup.endpoints); the external etcd is rolled: once every member runs a new minor, etcd cannot go back by itself, so a snapshot is the way back',
      );
    },
  );

  it('without an etcd section, a cluster at the target gets no backup', () => {
    const cluster = new ClusterBuilder('v1.31.2', 'https://etcd-phase.example:6443')
      .controlPlane('cp-1', undefined, { externalEtcd: true })
      .node('w-1', { kubelet: 'v1.30.6' })
      .build();
    const plan = planUpgrade(cluster, parseVersion('v1.31.2'), policyOf('canary: {nodes: 0}\n'));
    expect(plan.phases.map((p) => p.kind)).toEqual(['preflight', 'node-pool', 'validation']);
  });

  it('is absent without an etcd section', () => {
    const plan = planUpgrade(snapshot(), parseVersion('v1.31.2'), policyOf(''));
    expect(plan.phases.some((p) => p.kind === 'etcd')).toBe(false);
  });

  it('refuses to plan a roll that would take down more members than quorum allows', () => {
    const valid = validatePolicy(
      {
        etcd: {
          members: [
            { name: 'a', endpoint: 'http://127.0.0.1:2379' },
            { name: 'b', endpoint: 'http://127.0.0.1:2479' },
            { name: 'c', endpoint: 'http://127.0.0.1:2579' },
          ],
          upgrade: { command: 'restart {member}' },
        },
      },
      'policy.yaml',
    );
    if (!valid.ok) throw new Error(JSON.stringify(valid.errors));
    // A policy built in code, past the validation that refuses it with its field.
    const policy = {
      ...valid.policy,
      etcd: { ...valid.policy.etcd!, members: valid.policy.etcd!.members.slice(0, 2) },
    };
    expect(() => planUpgrade(snapshot(), parseVersion('v1.31.2'), policy)).toThrow(PlanError);
    expect(() => planUpgrade(snapshot(), parseVersion('v1.31.2'), policy)).toThrow(
      /cannot roll etcd \(etcd\.members\): 2 member\(s\) tolerate no member down \(quorum needs 2 of 2\)/,
    );
  });
});
