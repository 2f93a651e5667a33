import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/versions.ts';
import { checkVersionPath } from '../../src/preflight/version-path.ts';
import { checkVersionSkew } from '../../src/preflight/version-skew.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

const NOW = Date.parse('2026-01-15T10:00:00Z');

describe('version-path', () => {
  const snapshot = new ClusterBuilder('v1.30.4').controlPlane('cp-1').node('w-1').build();
  it.each([
    ['v1.29.0', 'blocker', /older than the running v1.30.4.*downgrades/],
    ['v1.50.0', 'blocker', /not a Kubernetes release midflight knows/],
    ['v1.30.99', 'warning', /newer than the latest patch/],
    ['v1.30.4', 'info', /already runs v1.30.4/],
    ['v1.33.1', 'info', /3 minor hops: v1.31.14 → v1.32.11 → v1.33.1/],
  ])('target %s → %s', (target, severity, message) => {
    const findings = checkVersionPath(snapshot, parseVersion(target), {}, NOW);
    const match = findings.find((f) => message.test(f.message));
    expect(match, JSON.stringify(findings)).toBeDefined();
    expect(match!.severity).toBe(severity);
  });

  it('has no blocker for a one-minor upgrade', () => {
    const findings = checkVersionPath(snapshot, parseVersion('v1.31.2'), {}, NOW);
    expect(findings.filter((f) => f.severity === 'blocker')).toEqual([]);
  });

  it('uses the oldest apiserver when an upgrade was interrupted', () => {
    const split = new ClusterBuilder('v1.31.2')
      .controlPlane('cp-1', 'v1.30.4')
      .controlPlane('cp-2', 'v1.31.2')
      .build();
    const findings = checkVersionPath(split, parseVersion('v1.32.0'), {}, NOW);
    expect(findings.some((f) => /2 minor hops/.test(f.message))).toBe(true);
  });
});

describe('version-skew', () => {
  it.each([
    [
      'kubelets 3 behind the target, moved at a hop',
      'v1.30.4',
      'v1.27.3',
      'v1.31.2',
      'warning',
      /when the control plane reaches 1.31/,
    ],
    ['kubelets already too old', 'v1.30.4', 'v1.26.1', 'v1.31.2', 'blocker', /already break the skew policy/],
    ['kubelets within skew', 'v1.30.4', 'v1.29.0', 'v1.31.2', undefined, undefined],
  ])('%s', (_name, cp, kubelet, target, severity, message) => {
    const snapshot = new ClusterBuilder(cp)
      .controlPlane('cp-1')
      .node('w-1', { kubelet })
      .node('w-2', { kubelet })
      .build();
    const findings = checkVersionSkew(snapshot, parseVersion(target), {}, NOW);
    if (!severity) {
      expect(findings).toEqual([]);
      return;
    }
    expect(findings).toHaveLength(1);
    expect(findings[0]!.severity).toBe(severity);
    expect(findings[0]!.message).toMatch(message!);
    expect(findings[0]!.message).toMatch(/2 node\(s\)/);
  });

  it('blocks when HA apiservers are more than one minor apart', () => {
    const snapshot = new ClusterBuilder('v1.30.4')
      .controlPlane('cp-1', 'v1.28.0')
      .controlPlane('cp-2', 'v1.30.4')
      .build();
    const findings = checkVersionSkew(snapshot, parseVersion('v1.31.0'), {}, NOW);
    expect(findings.some((f) => f.severity === 'blocker' && /within 1 minor/.test(f.message))).toBe(true);
  });

  it('checks kube-proxy against the apiserver', () => {
    const snapshot = new ClusterBuilder('v1.30.4')
      .controlPlane('cp-1')
      .node('w-1', { kubelet: 'v1.30.4' })
      .daemonSet('kube-system', 'kube-proxy', ['w-1'], 'registry.k8s.io/kube-proxy:v1.31.0')
      .build();
    const findings = checkVersionSkew(snapshot, parseVersion('v1.31.0'), {}, NOW);
    expect(findings.map((f) => f.subject.name)).toEqual(['kube-proxy-w-1']);
    expect(findings[0]!.message).toMatch(/newer than the apiserver/);
  });
});
