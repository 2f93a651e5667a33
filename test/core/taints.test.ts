import { describe, expect, it } from 'vitest';
import { podMayRunOn } from '../../src/core/capacity.ts';
import type { NodeModel } from '../../src/core/cluster-model.ts';
import type { Node, Pod } from '../../src/core/snapshot.ts';
import { firstUntoleratedTaint, type Taint, type Toleration, toleratesTaint } from '../../src/core/taints.ts';

const gpu: Taint = { key: 'gpu', value: 'a100', effect: 'NoSchedule' };

// The rules as the Kubernetes docs ("Taints and Tolerations") and Toleration.ToleratesTaint state them.
describe('toleratesTaint', () => {
  it.each<[string, Toleration, Taint, boolean]>([
    [
      'Equal with the same key, value and effect',
      { key: 'gpu', operator: 'Equal', value: 'a100', effect: 'NoSchedule' },
      gpu,
      true,
    ],
    ['no operator means Equal', { key: 'gpu', value: 'a100', effect: 'NoSchedule' }, gpu, true],
    [
      'Equal with another value',
      { key: 'gpu', operator: 'Equal', value: 'h100', effect: 'NoSchedule' },
      gpu,
      false,
    ],
    ['Equal with no value against a valued taint', { key: 'gpu', operator: 'Equal' }, gpu, false],
    [
      'Equal with no value against a taint with no value',
      { key: 'dedicated' },
      { key: 'dedicated', effect: 'NoExecute' },
      true,
    ],
    ['Exists ignores the value', { key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }, gpu, true],
    ['Exists with another key', { key: 'tpu', operator: 'Exists' }, gpu, false],
    ['empty key with Exists tolerates everything', { operator: 'Exists' }, gpu, true],
    [
      "empty key '' with Exists tolerates everything",
      { key: '', operator: 'Exists', effect: '' },
      { key: 'x', effect: 'NoExecute' },
      true,
    ],
    [
      'empty effect matches every effect',
      { key: 'gpu', operator: 'Exists' },
      { ...gpu, effect: 'NoExecute' },
      true,
    ],
    ['another effect does not match', { key: 'gpu', operator: 'Exists', effect: 'NoExecute' }, gpu, false],
    [
      'empty key with Equal matches every key of that value (upstream, though the API refuses it)',
      { value: 'a100' },
      gpu,
      true,
    ],
    ['an unknown operator matches nothing', { key: 'gpu', operator: 'In', value: 'a100' }, gpu, false],
    ['an unknown operator with an empty key matches nothing', { operator: 'Gt' }, gpu, false],
    ['operator names are case-sensitive', { key: 'gpu', operator: 'exists' }, gpu, false],
  ])('%s', (_name, toleration, taint, expected) => {
    expect(toleratesTaint(toleration, taint)).toBe(expected);
  });
});

describe('firstUntoleratedTaint', () => {
  it.each<[string, Taint[], Toleration[], string | undefined]>([
    ['no taints', [], [], undefined],
    ['PreferNoSchedule never rejects', [{ key: 'soft', effect: 'PreferNoSchedule' }], [], undefined],
    [
      'the first hard taint not tolerated',
      [gpu, { key: 'x', effect: 'NoExecute' }],
      [{ key: 'gpu', operator: 'Exists' }],
      'x',
    ],
    ['all tolerated', [gpu], [{ operator: 'Exists' }], undefined],
  ])('%s', (_name, taints, tolerations, expectedKey) => {
    expect(firstUntoleratedTaint(taints, tolerations)?.key).toBe(expectedKey);
  });
});

describe('the capacity model places pods by the same rule', () => {
  const node = (taints: Taint[]): NodeModel => ({
    node: { metadata: { name: 'n1' }, spec: { taints } } as Node,
    name: 'n1',
    pool: 'workers',
    controlPlane: false,
    ready: true,
    cordoned: false,
    pods: [],
  });
  const pod = (tolerations: Toleration[]): Pod =>
    ({ metadata: { name: 'p', namespace: 'd' }, spec: { containers: [], tolerations } }) as unknown as Pod;

  it('an unknown operator does not tolerate a taint whose key and value it names', () => {
    expect(podMayRunOn(pod([{ key: 'gpu', operator: 'In', value: 'a100' }]), node([gpu]))).toBe(false);
  });
  it('an empty-key Exists toleration runs anywhere', () => {
    expect(podMayRunOn(pod([{ operator: 'Exists' }]), node([gpu, { key: 'x', effect: 'NoExecute' }]))).toBe(
      true,
    );
  });
});
