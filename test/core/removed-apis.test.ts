import { describe, expect, it } from 'vitest';
import { findRemovedApi, REMOVED_APIS, removalsBetween } from '../../src/core/removed-apis.ts';
import { parseVersion } from '../../src/core/versions.ts';

describe('removed APIs', () => {
  it.each([
    ['extensions/v1beta1', 'Ingress', 22, 'networking.k8s.io/v1'],
    ['policy/v1beta1', 'PodDisruptionBudget', 25, 'policy/v1'],
    ['flowcontrol.apiserver.k8s.io/v1beta3', 'FlowSchema', 32, 'flowcontrol.apiserver.k8s.io/v1'],
    ['apps/v1beta2', 'Deployment', 16, 'apps/v1'],
  ])('%s %s is removed in 1.%i, replaced by %s', (apiVersion, kind, minor, replacement) => {
    const api = findRemovedApi(apiVersion, kind)!;
    expect(api.removedInMinor).toBe(minor);
    expect(api.replacement).toBe(replacement);
  });

  it('has no replacement for PodSecurityPolicy', () => {
    expect(findRemovedApi('policy/v1beta1', 'PodSecurityPolicy')?.replacement).toBeUndefined();
  });

  it('knows current APIs are not removed', () => {
    expect(findRemovedApi('apps/v1', 'Deployment')).toBeUndefined();
    expect(findRemovedApi('networking.k8s.io/v1', 'Ingress')).toBeUndefined();
  });

  it('lists what an upgrade crosses', () => {
    const crossed = removalsBetween(parseVersion('v1.24.3'), parseVersion('v1.26.0'));
    expect(new Set(crossed.map((r) => r.removedInMinor))).toEqual(new Set([25, 26]));
    expect(removalsBetween(parseVersion('v1.32.0'), parseVersion('v1.35.0'))).toEqual([]);
  });

  it('lists every kind of the guide once per group/version', () => {
    const keys = REMOVED_APIS.map((r) => `${r.group}/${r.version}/${r.kind}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
