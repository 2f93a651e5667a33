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
  const cluster = (cpuPerPod: string) =>
    new ClusterBuilder()
      .node('w-1', { pool: 'workers', cpu: '4' })
      .node('w-2', { pool: 'workers', cpu: '4' })
      .node('w-3', { pool: 'workers', cpu: '4' })
      .workload('app', 'web', { replicas: 3, on: ['w-1', 'w-2', 'w-3'], cpu: cpuPerPod })
      .build();

  it.each([
    ['plenty of room', '1', 1, []],
    ['one node cannot be absorbed', '3', 1, ['blocker']],
    ['a batch of 2 cannot be absorbed', '1500m', 2, ['warning']],
  ] as const)('%s', (_name, cpu, maxUnavailable, severities) => {
    const findings = checkCapacity(cluster(cpu), TARGET, { defaults: { maxUnavailable } }, NOW);
    expect(findings.map((f) => f.severity)).toEqual(severities);
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
