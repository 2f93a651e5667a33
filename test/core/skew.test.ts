import { describe, expect, it } from 'vitest';
import { kubeProxyKubeletViolation, oldestKubeletMinorFor, skewViolation } from '../../src/core/skew.ts';
import { parseVersion } from '../../src/core/versions.ts';

const v = parseVersion;

describe('skew policy', () => {
  it.each([
    ['kubelet', 'v1.27.0', ['v1.30.0'], true],
    ['kubelet', 'v1.26.0', ['v1.30.0'], false],
    ['kubelet', 'v1.31.0', ['v1.30.0'], false],
    ['kubelet', 'v1.24.0', ['v1.26.0'], true],
    ['kubelet', 'v1.24.0', ['v1.27.0'], false],
    ['kubelet', 'v1.27.0', ['v1.29.0', 'v1.30.0'], true],
    ['kubelet', 'v1.30.0', ['v1.29.0', 'v1.30.0'], false],
    ['kube-controller-manager', 'v1.29.0', ['v1.30.0'], true],
    ['kube-controller-manager', 'v1.28.0', ['v1.30.0'], false],
    ['kube-scheduler', 'v1.31.0', ['v1.30.0'], false],
    ['kube-apiserver', 'v1.30.0', ['v1.29.0'], true],
    ['kube-apiserver', 'v1.30.0', ['v1.28.0'], false],
  ] as const)('%s %s against apiservers %j allowed: %s', (component, version, apiservers, allowed) => {
    expect(skewViolation(component, v(version), apiservers.map(v)) === undefined).toBe(allowed);
  });

  it('keeps kube-proxy within the allowance of its kubelet', () => {
    expect(kubeProxyKubeletViolation(v('v1.30.0'), v('v1.27.0'))).toBeUndefined();
    expect(kubeProxyKubeletViolation(v('v1.30.0'), v('v1.26.0'))).toMatch(/4 minors apart/);
  });

  it.each([
    ['v1.30.0', 27],
    ['v1.26.0', 24],
    ['v1.27.0', 25],
  ])('the oldest kubelet an apiserver %s accepts is 1.%i', (apiserver, minor) => {
    expect(oldestKubeletMinorFor(v(apiserver))).toBe(minor);
  });
});
