import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/versions.ts';
import type { PreflightOptions } from '../../src/preflight/finding.ts';
import { checkLocalStorage } from '../../src/preflight/local-storage.ts';
import { checkNoDisruptionBudget } from '../../src/preflight/no-disruption-budget.ts';
import { checkPdbBlocksDrain } from '../../src/preflight/pdb-blocks-drain.ts';
import { checkUnmanagedPod } from '../../src/preflight/unmanaged-pod.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

const NOW = Date.parse('2026-01-15T10:00:00Z');
const TARGET = parseVersion('v1.31.2');
const base = () => new ClusterBuilder('v1.30.4').controlPlane('cp-1').node('w-1').node('w-2').node('w-3');

describe('pdb-blocks-drain', () => {
  it.each([
    ['maxUnavailable 0', { maxUnavailable: 0 }, 3, 3, 'blocker', /never allows an eviction/],
    ['minAvailable equal to replicas', { minAvailable: 3 }, 3, 3, 'blocker', /never allows an eviction/],
    ['minAvailable 100%', { minAvailable: '100%' }, 3, 3, 'blocker', /never allows an eviction/],
    ['0 allowed now (unhealthy pods)', { minAvailable: 2 }, 3, 2, 'warning', /allows 0 disruptions now/],
    ['healthy budget', { maxUnavailable: 1 }, 3, 3, undefined, undefined],
  ] as const)('%s', (_name, spec, replicas, ready, severity, message) => {
    const snapshot = base()
      .workload('app', 'web', { replicas, ready, on: ['w-1', 'w-2', 'w-3'] })
      .pdb('app', 'web', 'web', spec)
      .build();
    const findings = checkPdbBlocksDrain(snapshot, TARGET, {}, NOW);
    if (!severity) return expect(findings).toEqual([]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      severity,
      subject: { kind: 'PodDisruptionBudget', namespace: 'app', name: 'web' },
    });
    expect(findings[0]!.message).toMatch(message!);
  });

  it('prefers the status the disruption controller wrote', () => {
    const snapshot = base()
      .workload('app', 'web', { replicas: 3, on: ['w-1', 'w-2', 'w-3'] })
      .pdb('app', 'web', 'web', { maxUnavailable: 1 }, { disruptionsAllowed: 0 })
      .build();
    expect(checkPdbBlocksDrain(snapshot, TARGET, {}, NOW)[0]?.severity).toBe('warning');
  });

  it('reports budgets over unmanaged pods and pods with two budgets', () => {
    const snapshot = base()
      .barePod('app', 'lonely', 'w-1', { labels: { app: 'solo' } })
      .pdb('app', 'solo', 'solo', { maxUnavailable: 1 })
      .pdb('app', 'solo-2', 'solo', { maxUnavailable: 1 })
      .build();
    const findings = checkPdbBlocksDrain(snapshot, TARGET, {}, NOW);
    expect(findings.some((f) => /no controller manages/.test(f.message))).toBe(true);
    expect(findings.some((f) => f.severity === 'blocker' && /more than one budget/.test(f.message))).toBe(
      true,
    );
  });
});

describe('no-disruption-budget', () => {
  it.each([
    ['3 replicas without a budget', 3, false, /3 replicas and no PodDisruptionBudget/],
    ['single replica', 1, true, /single replica/],
    ['3 replicas with a budget', 3, true, undefined],
  ])('%s', (_name, replicas, withBudget, message) => {
    const b = base().workload('app', 'web', { replicas, on: ['w-1', 'w-2', 'w-3'] });
    if (withBudget) b.pdb('app', 'web', 'web', { maxUnavailable: 1 });
    const findings = checkNoDisruptionBudget(b.build(), TARGET, {}, NOW);
    if (!message) return expect(findings).toEqual([]);
    expect(findings.map((f) => f.subject)).toEqual([{ kind: 'Deployment', namespace: 'app', name: 'web' }]);
    expect(findings[0]!.message).toMatch(message);
  });
});

describe('unmanaged-pod and local-storage', () => {
  const snapshot = base()
    .barePod('app', 'debug', 'w-1')
    .workload('app', 'cache', { replicas: 2, on: ['w-1', 'w-2'], emptyDir: true })
    .daemonSet('kube-system', 'agent', ['w-1', 'w-2'])
    .build();

  it.each([
    [{}, 'blocker'],
    [{ drain: { force: true } }, 'warning'],
  ] as Array<[PreflightOptions, string]>)('bare pods with %j are a %s', (options, severity) => {
    const findings = checkUnmanagedPod(snapshot, TARGET, options, NOW);
    expect(findings.map((f) => [f.subject.name, f.severity])).toEqual([['debug', severity]]);
  });

  it.each([
    [{}, 'blocker', /the drain refuses/],
    [{ drain: { deleteEmptyDirData: true } }, 'warning', /lost when they are evicted/],
  ] as Array<[PreflightOptions, string, RegExp]>)(
    'emptyDir with %j is a %s, one finding per workload',
    (options, severity, message) => {
      const findings = checkLocalStorage(snapshot, TARGET, options, NOW);
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({ severity, subject: { kind: 'Deployment', name: 'cache' } });
      expect(findings[0]!.message).toMatch(message);
      expect(findings[0]!.message).toMatch(/2 pod\(s\)/);
    },
  );
});
