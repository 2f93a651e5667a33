import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/core/clock.ts';
import { R } from '../../../src/sandbox/api/resources.ts';
import {
  storedTemplateHash,
  storedTemplateIdentity,
  templateHash,
  templateIdentity,
} from '../../../src/sandbox/sim/controllers/template-hash.ts';
import { ObjectStore } from '../../../src/sandbox/store/object-store.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';

function deployment(name: string, image: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

type Edit = (draft: KubeObject) => void;
const containerOf = (d: KubeObject) => d.spec.template.spec.containers[0];

describe('a template hash and identity remembered per object', () => {
  const writes: Array<[string, Edit]> = [
    [
      'a status write (a new copy of the same template)',
      (d) => {
        d.status = { replicas: 2 };
      },
    ],
    [
      'a new image',
      (d) => {
        containerOf(d).image = 'web:2';
      },
    ],
    [
      'another status write',
      (d) => {
        d.status = { replicas: 1 };
      },
    ],
    [
      'the same template with its fields in another order',
      (d) => {
        const { spec, metadata } = d.spec.template;
        d.spec.template = { spec, metadata };
      },
    ],
    [
      'a pod-template-hash label (not part of the identity, part of the hash)',
      (d) => {
        d.spec.template.metadata.labels['pod-template-hash'] = 'abc';
      },
    ],
    [
      'a field the API server defaults, written out',
      (d) => {
        d.spec.template.spec.restartPolicy = 'Always';
      },
    ],
    [
      'a field holding undefined',
      (d) => {
        containerOf(d).command = undefined;
      },
    ],
    [
      'the first image back',
      (d) => {
        containerOf(d).image = 'web:1';
      },
    ],
    [
      'no template at all',
      (d) => {
        delete d.spec.template;
      },
    ],
    [
      'a template again',
      (d) => {
        d.spec.template = deployment('web', 'web:3').spec.template;
      },
    ],
  ];

  it('equals a computation from scratch after each of a series of writes, and keeps two objects apart', () => {
    const store = new ObjectStore(new VirtualClock());
    store.create(R.deployments, deployment('web', 'web:1'));
    store.create(R.deployments, deployment('api', 'api:1'));
    const check = (name: string, when: string) => {
      const stored = store.get(R.deployments, 'default', name)!;
      expect(storedTemplateIdentity(stored), `${name} identity after ${when}`).toBe(
        templateIdentity(stored.spec.template),
      );
      expect(storedTemplateHash(stored), `${name} hash after ${when}`).toBe(
        templateHash(stored.spec.template ?? {}),
      );
    };
    check('web', 'creation');
    check('api', 'creation');
    const seen = new Set<string>();
    for (const [when, edit] of writes) {
      store.mutate(R.deployments, 'default', 'web', edit);
      check('web', when);
      check('api', `web's ${when}`);
      seen.add(storedTemplateIdentity(store.get(R.deployments, 'default', 'web')!));
    }
    // The series did change the identity: an answer stuck on the first template would have passed nothing.
    expect(seen.size).toBeGreaterThan(3);
  });
});
