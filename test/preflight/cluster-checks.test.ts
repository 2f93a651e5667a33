import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/versions.ts';
import { checkCapacity } from '../../src/preflight/capacity.ts';
import { checkCertificates } from '../../src/preflight/certificates.ts';
import { checkNodeHealth } from '../../src/preflight/node-health.ts';
import { checkRuntimeCompat } from '../../src/preflight/runtime-compat.ts';
import { checkWebhookFailClosed } from '../../src/preflight/webhook-fail-closed.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

const NOW = Date.parse('2026-01-15T10:00:00Z');
const TARGET = parseVersion('v1.31.2');

describe('capacity', () => {
  // Three 4-CPU workers, one pod on each: 2.5 CPU free per node when the pods ask 1500m.
  const cluster = (cpuPerPod: string) =>
    new ClusterBuilder()
      .node('w-1', { pool: 'workers', cpu: '4' })
      .node('w-2', { pool: 'workers', cpu: '4' })
      .node('w-3', { pool: 'workers', cpu: '4' })
      .workload('app', 'web', { replicas: 3, on: ['w-1', 'w-2', 'w-3'], cpu: cpuPerPod })
      .build();

  it.each([
    ['plenty of room', '1', { maxUnavailable: 1 }, []],
    ['one node cannot be absorbed', '3', { maxUnavailable: 1 }, ['blocker']],
    ['a batch of 2 cannot be absorbed', '1500m', { maxUnavailable: 2 }, ['warning']],
    // The planner's batch size: maxUnavailable 1 + maxSurge 1 = 2 nodes, and the new node adds 4 CPU.
    [
      'a batch of 2 with a surge node fits',
      '1500m',
      { maxUnavailable: 1, maxSurge: 1, strategy: 'replace' },
      [],
    ],
    // maxSurge only counts for the replace strategy, as in the planner: in place the batch is 1 node.
    ['maxSurge in place adds neither nodes nor room', '1500m', { maxUnavailable: 1, maxSurge: 1 }, []],
    ['maxUnavailable 0 in place still checks one node', '3', { maxUnavailable: 0 }, ['blocker']],
    [
      'a surge node makes room for a node that fits nowhere',
      '3',
      { maxUnavailable: 0, maxSurge: 1, strategy: 'replace' },
      [],
    ],
  ] as const)('%s', (_name, cpu, defaults, severities) => {
    const findings = checkCapacity(cluster(cpu), TARGET, { defaults }, NOW);
    expect(findings.map((f) => f.severity)).toEqual(severities);
  });

  it('names every node that cannot be absorbed, in one finding per pool', () => {
    const [finding, ...rest] = checkCapacity(cluster('3'), TARGET, {}, NOW);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ severity: 'blocker', subject: { kind: 'Node', name: 'w-1' } });
    expect(finding!.message).toMatch(/^pool workers: the pods on w-1 \(and 2 more: w-2, w-3\) do not fit/);
  });

  it('tests the busiest nodes by CPU requested, with the pool setting over the default', () => {
    const snapshot = new ClusterBuilder()
      .node('w-1', { pool: 'workers', cpu: '4' })
      .node('w-2', { pool: 'workers', cpu: '4' })
      .node('w-3', { pool: 'workers', cpu: '4' })
      .node('w-4', { pool: 'workers', cpu: '4' })
      .workload('app', 'small', { replicas: 2, on: ['w-1', 'w-2'], cpu: '500m' })
      .workload('app', 'big', { replicas: 2, on: ['w-3', 'w-4'], cpu: '2500m' })
      .build();
    // w-3 and w-4 together need 5 CPU; w-1 and w-2 have 7 free: it fits. Three at once do not.
    const options = (maxUnavailable: number) => ({
      defaults: { maxUnavailable: 1 },
      pools: [{ name: 'workers', maxUnavailable }],
    });
    expect(checkCapacity(snapshot, TARGET, options(2), NOW)).toEqual([]);
    const [finding] = checkCapacity(snapshot, TARGET, options(3), NOW);
    expect(finding).toMatchObject({ severity: 'warning', subject: { kind: 'NodePool', name: 'workers' } });
    expect(finding!.message).toMatch(/3 nodes out at once \(maxUnavailable; the busiest: w-3, w-4, w-1\)/);
  });

  it('only counts nodes a pod may run on', () => {
    const snapshot = new ClusterBuilder()
      .node('gpu-1', { pool: 'gpu', labels: { gpu: 'true' } })
      .node('gpu-2', { pool: 'gpu', labels: { gpu: 'true' } })
      .node('w-1', { pool: 'workers', cpu: '64' })
      .workload('ml', 'train', {
        replicas: 2,
        on: ['gpu-1', 'gpu-2'],
        cpu: '3',
        nodeSelector: { gpu: 'true' },
      })
      .build();
    const findings = checkCapacity(snapshot, TARGET, {}, NOW);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/nodeSelector gpu=true/);
  });
});

describe('node-health', () => {
  it('reports not-ready, pressure, cordoned and crash-looping', () => {
    const snapshot = new ClusterBuilder()
      .node('down', { ready: false })
      .node('full', { conditions: [{ type: 'DiskPressure', status: 'True' }] })
      .node('held', { cordoned: true })
      .node('fine')
      .workload('app', 'flaky', { replicas: 2, on: ['fine'], restarts: 12 })
      .build();
    const findings = checkNodeHealth(snapshot, TARGET, {}, NOW);
    expect(findings.map((f) => [f.subject.name, f.severity])).toEqual([
      ['down', 'blocker'],
      ['full', 'warning'],
      ['held', 'warning'],
      ['flaky', 'warning'],
    ]);
  });
});

describe('webhook-fail-closed', () => {
  const cluster = (replicas: number, on: string[], budget: boolean, failurePolicy?: 'Fail' | 'Ignore') => {
    const b = new ClusterBuilder()
      .node('w-1')
      .node('w-2')
      .workload('policy', 'gatekeeper', { replicas, on })
      .service('policy', 'gatekeeper', { app: 'gatekeeper' })
      .webhook('gatekeeper', { service: { namespace: 'policy', name: 'gatekeeper' }, failurePolicy });
    if (budget) b.pdb('policy', 'gatekeeper', 'gatekeeper', { maxUnavailable: 1 });
    return b.build();
  };
  it.each([
    ['single backend, default policy (Fail)', cluster(1, ['w-1'], false), ['warning']],
    ['no ready backend', cluster(0, ['w-1'], false), ['blocker']],
    ['spread with a budget', cluster(2, ['w-1', 'w-2'], true), []],
    ['fails open', cluster(1, ['w-1'], false, 'Ignore'), []],
  ])('%s', (_name, snapshot, severities) => {
    expect(checkWebhookFailClosed(snapshot, TARGET, {}, NOW).map((f) => f.severity)).toEqual(severities);
  });
});

describe('runtime-compat', () => {
  it.each([
    ['docker://20.10.7', 'v1.24.0', ['blocker']],
    ['docker://20.10.7', 'v1.23.17', []],
    ['containerd://1.7.13', 'v1.31.2', []],
  ])('%s at %s', (runtime, target, severities) => {
    const snapshot = new ClusterBuilder('v1.23.5').node('w-1', { runtime }).build();
    expect(checkRuntimeCompat(snapshot, parseVersion(target), {}, NOW).map((f) => f.severity)).toEqual(
      severities,
    );
  });
});

describe('certificates', () => {
  it.each([
    ['2026-01-01T00:00:00Z', 'blocker', /expired/],
    ['2026-01-25T00:00:00Z', 'warning', /expires in 9 day/],
    ['2027-01-01T00:00:00Z', 'info', /valid until/],
  ])('notAfter %s → %s', (notAfter, severity, message) => {
    const b = new ClusterBuilder();
    b.tls = { notAfter };
    const findings = checkCertificates(b.build(), TARGET, {}, NOW);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.severity).toBe(severity);
    expect(findings[0]!.message).toMatch(message);
  });
});
