import { describe, expect, it } from 'vitest';
import { type EtcdMember, etcdProblemAfter, etcdProblemBefore } from '../../src/kube/etcd-health.ts';

const members = (healthy: Record<string, boolean>): EtcdMember[] =>
  Object.entries(healthy).map(([node, ok]) => ({
    node,
    healthy: ok,
    detail: ok ? 'healthy' : 'Running, Ready=False',
  }));

describe('etcd health and quorum', () => {
  it.each([
    ['all healthy', { a: true, b: true, c: true }, 'a', undefined],
    ['the member itself unhealthy (resumed mid-upgrade)', { a: false, b: true, c: true }, 'a', undefined],
    [
      'another unhealthy',
      { a: true, b: true, c: false },
      'a',
      /etcd on c is not healthy.*leave 1 of 3.*quorum needs 2/,
    ],
    ['a single member', { a: true }, 'a', undefined],
  ])('before a member goes down: %s', (_, m, node, problem) => {
    const found = etcdProblemBefore(members(m), node);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });

  it.each([
    ['all healthy', { a: true, b: true, c: true }, 'a', undefined],
    ['its own member unhealthy', { a: false, b: true, c: true }, 'a', /etcd on a is not healthy/],
    [
      'own healthy, quorum lost',
      { a: true, b: false, c: false },
      'a',
      /1 of 3 member\(s\) healthy, quorum needs 2/,
    ],
    ['no member on the node', { b: true }, 'a', /no etcd member on a/],
  ])('after its upgrade: %s', (_, m, node, problem) => {
    const found = etcdProblemAfter(members(m), node);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});
