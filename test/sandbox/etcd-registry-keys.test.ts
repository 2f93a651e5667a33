import { describe, expect, it } from 'vitest';
import { RESOURCES, storeKey } from '../../src/sandbox/api/resources.ts';
import { parseRegistryKey, registryKey } from '../../src/sandbox/store/registry-keys.ts';

describe('the etcd keys of the sandbox objects', () => {
  it.each([
    ['pods', 'default', 'web-1', '/registry/pods/default/web-1'],
    ['nodes', undefined, 'cp-1', '/registry/minions/cp-1'],
    ['namespaces', undefined, 'shop', '/registry/namespaces/shop'],
    ['services', 'default', 'kubernetes', '/registry/services/specs/default/kubernetes'],
    ['endpoints', 'default', 'kubernetes', '/registry/services/endpoints/default/kubernetes'],
    ['apps/deployments', 'shop', 'web', '/registry/deployments/shop/web'],
    ['policy/poddisruptionbudgets', 'shop', 'web', '/registry/poddisruptionbudgets/shop/web'],
    ['coordination.k8s.io/leases', 'kube-node-lease', 'n1', '/registry/leases/kube-node-lease/n1'],
    ['storage.k8s.io/storageclasses', undefined, 'ssd', '/registry/storageclasses/ssd'],
    [
      'apiextensions.k8s.io/customresourcedefinitions',
      undefined,
      'machines.cluster.x-k8s.io',
      '/registry/apiextensions.k8s.io/customresourcedefinitions/machines.cluster.x-k8s.io',
    ],
    [
      'cluster.x-k8s.io/machinedeployments',
      'default',
      'md-0',
      '/registry/cluster.x-k8s.io/machinedeployments/default/md-0',
    ],
  ])('%s %s/%s is kept where kube-apiserver keeps it: %s', (resource, namespace, name, key) => {
    expect(registryKey(resource, namespace, name)).toBe(key);
    expect(parseRegistryKey(key)).toEqual({ resource, ...(namespace ? { namespace } : {}), name });
  });

  it('reads back the resource, namespace and name of every resource the sandbox serves', () => {
    for (const info of RESOURCES) {
      const resource = storeKey(info);
      const namespace = info.namespaced ? 'ns-1' : undefined;
      expect(parseRegistryKey(registryKey(resource, namespace, 'obj.a-1'))).toEqual({
        resource,
        ...(namespace ? { namespace } : {}),
        name: 'obj.a-1',
      });
    }
  });

  it.each(['/registry/pods', '/registry/pods/a/b/c', '/other/pods/a/b', '/registry//a'])(
    '%s is no object key',
    (key) => expect(parseRegistryKey(key)).toBeUndefined(),
  );
});
