import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { clientUrlsOf, KUBEADM_ETCD_CLIENT_URLS } from '../../src/kube/index.ts';

const pod = (annotations: Record<string, string>, command: string[]): V1Pod => ({
  metadata: { name: 'etcd-cp-1', namespace: 'kube-system', annotations },
  spec: { containers: [{ name: 'etcd', command }] },
});

describe("an etcd static pod's client URLs, as kubeadm lays them out", () => {
  it.each([
    [
      'the kubeadm annotation',
      pod({ [KUBEADM_ETCD_CLIENT_URLS]: 'https://10.0.0.1:2379' }, []),
      ['https://10.0.0.1:2379'],
    ],
    [
      'the flag, when there is no annotation',
      pod({}, [
        'etcd',
        '--advertise-client-urls=https://10.0.0.2:2379,https://10.0.0.3:2379',
        '--data-dir=/var/lib/etcd',
      ]),
      ['https://10.0.0.2:2379', 'https://10.0.0.3:2379'],
    ],
    [
      'the annotation before the flag',
      pod({ [KUBEADM_ETCD_CLIENT_URLS]: 'https://a:2379' }, ['--advertise-client-urls=https://b:2379']),
      ['https://a:2379'],
    ],
    ['neither', pod({}, ['etcd']), []],
  ])('%s', (_, p, urls) => {
    expect(clientUrlsOf(p)).toEqual(urls);
  });
});
