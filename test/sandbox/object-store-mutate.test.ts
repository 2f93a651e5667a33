import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { copyJson } from '../../src/sandbox/store/json-value.ts';
import { ObjectStore } from '../../src/sandbox/store/object-store.ts';
import type { KubeObject } from '../../src/sandbox/store/types.ts';

function podInput(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'app', labels: { app: 'web' }, finalizers: ['keep'] },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/**
 * Changes a simulated actor makes, each checked against what a change to a full copy of the object gives:
 * the stored result, its generation, and the stored object before the change left as it was.
 */
const changes: Array<[string, (draft: KubeObject) => unknown]> = [
  ['reads status only', (d) => void d.status.phase],
  [
    'sets a status field',
    (d) => {
      d.status.phase = 'Failed';
    },
  ],
  [
    'edits a nested array in status',
    (d) => {
      d.status.conditions[0].status = 'False';
      d.status.conditions.push({ type: 'X' });
    },
  ],
  [
    'replaces status',
    (d) => {
      d.status = { phase: 'Succeeded' };
    },
  ],
  [
    'deletes status',
    (d) => {
      delete d.status;
    },
  ],
  [
    'adds a top-level field',
    (d) => {
      d.extra = { a: [1] };
    },
  ],
  [
    'edits a container in spec (a new generation)',
    (d) => {
      d.spec.containers[0].image = 'nginx:1.28';
    },
  ],
  [
    'reads spec and edits status',
    (d) => {
      d.status.hostIP = d.spec.nodeName;
    },
  ],
  [
    'edits labels',
    (d) => {
      d.metadata.labels = { ...d.metadata.labels, tier: 'front' };
    },
  ],
  [
    'pushes to a metadata list',
    (d) => {
      d.metadata.finalizers?.push('more');
    },
  ],
  [
    'spreads the draft',
    (d) => {
      Object.assign(d, { ...d, status: { ...d.status, phase: 'Unknown' } });
    },
  ],
];

describe('ObjectStore.mutate', () => {
  it.each(changes)('stores what a change to a full copy would: %s', (_name, change) => {
    const store = new ObjectStore(new VirtualClock(), { newUid: () => 'uid-1' });
    const stored = store.create('pods', podInput());
    const before = copyJson(stored);
    const expected = copyJson(stored);
    change(expected);

    const result = store.mutate('pods', 'app', 'web', change)!;

    expect(stored).toEqual(before);
    const { resourceVersion, generation, ...meta } = result.metadata;
    expect({ ...result, metadata: meta }).toEqual({
      ...expected,
      metadata: { ...expected.metadata, resourceVersion: undefined, generation: undefined },
    });
    expect(Number(resourceVersion)).toBe(Number(before.metadata.resourceVersion) + 1);
    // The generation moves when anything outside metadata and status changed.
    const outside = (o: KubeObject) => JSON.stringify({ ...o, metadata: undefined, status: undefined });
    const specChanged = outside(expected) !== outside(before);
    expect(generation).toBe(specChanged ? 2 : 1);
    expect(store.get('pods', 'app', 'web')).toBe(result);
  });

  it('writes nothing when the change says there is nothing to do', () => {
    const store = new ObjectStore(new VirtualClock());
    const stored = store.create('pods', podInput());
    const result = store.mutate('pods', 'app', 'web', (d) => {
      d.status.phase = 'Failed';
      return false;
    });
    expect(result).toBe(stored);
    expect(store.get('pods', 'app', 'web')).toEqual(copyJson(stored));
    expect(store.get('pods', 'app', 'web')!.status.phase).toBe('Running');
  });

  it('leaves the object it replaced, as watchers were told of it, unchanged by later changes', () => {
    const store = new ObjectStore(new VirtualClock());
    store.create('pods', podInput());
    const first = store.mutate('pods', 'app', 'web', (d) => {
      d.status.phase = 'Pending';
    })!;
    const seen = copyJson(first);
    store.mutate('pods', 'app', 'web', (d) => {
      d.spec.containers[0].ports[0].containerPort = 81;
      d.metadata.labels!.app = 'db';
      d.status.conditions.length = 0;
    });
    expect(first).toEqual(seen);
  });
});
