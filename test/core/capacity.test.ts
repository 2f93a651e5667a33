/**
 * CapacityModel.maxInFlightThatFits: how many of a pool's nodes may be out at once with their pods still
 * fitting on the others, up to the policy's limit, never below 1.
 */
import { describe, expect, it } from 'vitest';
import { capacityModelOf, clusterModelOf, type Resources } from '../../src/core/index.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

const NONE: Resources = { cpuMillis: 0, memoryBytes: 0, pods: 0 };

/** Nodes of 4 CPU (or as `size` says), each with one pod requesting `cpu[node]`. */
function capacityOf(cpu: Record<string, string>, size: Record<string, string> = {}) {
  const b = new ClusterBuilder();
  for (const node of Object.keys(cpu)) b.node(node, { cpu: size[node] ?? '4' });
  for (const [node, request] of Object.entries(cpu))
    b.workload('shop', `app-${node}`, { replicas: 1, on: [node], cpu: request });
  return capacityModelOf(clusterModelOf(b.build()));
}

// Five nodes each with a 1.5 CPU pod and 2.5 CPU free: k nodes out need 1.5k CPU from (5 − k) × 2.5 CPU,
// which holds up to k = 3 (4.5 ≤ 5) and fails at 4 (6 > 2.5).
const five = { a: '1500m', b: '1500m', c: '1500m', d: '1500m', e: '1500m' };

describe('CapacityModel.maxInFlightThatFits', () => {
  it.each([
    ['the limit when that many fit', 2, NONE, 2],
    ['the limit when exactly that many fit', 3, NONE, 3],
    ['the largest count that fits when the limit is higher', 5, NONE, 3],
    ['no more than the nodes there are', 10, NONE, 3],
    [
      'more with surge capacity: 4 out need 6 CPU of 2.5 + 4',
      5,
      { cpuMillis: 4000, memoryBytes: 1e12, pods: 110 },
      4,
    ],
    ['at least 1 for a limit of 0', 0, NONE, 1],
  ])('%s', (_name, limit, extra, expected) => {
    expect(capacityOf(five).maxInFlightThatFits(Object.keys(five), limit, extra)).toBe(expected);
  });

  it('is at least 1 when not even one node fits', () => {
    // 3.5 CPU to move, 0.5 CPU free on the other node.
    const capacity = capacityOf({ a: '3500m', b: '3500m' });
    expect(capacity.check(['a']).fits).toBe(false);
    expect(capacity.maxInFlightThatFits(['a', 'b'], 2)).toBe(1);
  });

  it('is 1 for no nodes', () => {
    expect(capacityOf(five).maxInFlightThatFits([], 3)).toBe(1);
  });

  it('tests the busiest nodes, not the first by name', () => {
    // z is a 16 CPU node with a 3 CPU pod; a, b and c have 4 CPU and a 0.5 CPU pod each. Three out: z, a and
    // b need 4 CPU and c has 3.5 free, so only 2 fit; the first three by name (a, b, c) need 1.5 CPU of z's
    // 13 free and would pass.
    const capacity = capacityOf({ a: '500m', b: '500m', c: '500m', z: '3000m' }, { z: '16' });
    expect(capacity.check(['a', 'b', 'c']).fits).toBe(true);
    expect(capacity.check(['z', 'a', 'b']).fits).toBe(false);
    expect(capacity.maxInFlightThatFits(['a', 'b', 'c', 'z'], 4)).toBe(2);
  });
});

describe('CapacityModel.shortfallOf', () => {
  it('is what the busiest nodes’ pods lack on the rest: nothing when they fit', () => {
    expect(capacityOf(five).shortfallOf(Object.keys(five), 3)).toEqual(NONE);
  });

  it.each([
    // 4 out: 6 CPU to move, 2.5 CPU free on the fifth node: 3.5 CPU short, 4 pods to place.
    [4, { cpuMillis: 3500, memoryBytes: 0, pods: 4 }],
    // 5 out: 7.5 CPU and the pods' 5 × 128Mi of memory to move, and nothing left.
    [5, { cpuMillis: 7500, memoryBytes: 5 * 128 * 2 ** 20, pods: 5 }],
  ])('with %i out', (count, short) => {
    expect(capacityOf(five).shortfallOf(Object.keys(five), count)).toMatchObject(short);
  });
});
