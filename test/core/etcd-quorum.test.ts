import { describe, expect, it } from 'vitest';
import {
  faultToleranceOf,
  followersFirst,
  laggingMembers,
  type MemberHealth,
  memberDownProblem,
  quorumLossOf,
  quorumOf,
} from '../../src/core/index.ts';

const members = (healthy: Record<string, boolean>): MemberHealth[] =>
  Object.entries(healthy).map(([name, ok]) => ({ name, healthy: ok, detail: ok ? 'healthy' : 'refused' }));
const words = (name: string) => ({ member: (n: string) => `etcd member ${n}`, action: `restarting ${name}` });

describe('etcd quorum', () => {
  it.each([
    [1, 1, 0],
    [2, 2, 0],
    [3, 2, 1],
    [4, 3, 1],
    [5, 3, 2],
  ])('%i members need %i for quorum and tolerate %i down', (n, q, f) => {
    expect(quorumOf(n)).toBe(q);
    expect(faultToleranceOf(n)).toBe(f);
  });

  it.each([
    [3, 1, undefined],
    [5, 2, undefined],
    [
      3,
      2,
      /3 member\(s\) tolerate 1 member\(s\) down at once \(quorum needs 2 of 3\): taking 2 down .* leave 1/,
    ],
    [2, 1, /2 member\(s\) tolerate no member down \(quorum needs 2 of 2\)/],
    [1, 1, /1 member\(s\) tolerate no member down/],
  ])('%i members, %i down at once', (n, down, problem) => {
    const found = quorumLossOf(n, down);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });

  it.each([
    ['all healthy', { a: true, b: true, c: true }, 'a', undefined],
    ['the member itself down (resumed mid-restart)', { a: false, b: true, c: true }, 'a', undefined],
    [
      'another unhealthy',
      { a: true, b: true, c: false },
      'a',
      /^etcd member c is not healthy \(refused\): restarting a now would leave 1 of 3 member\(s\) healthy, quorum needs 2$/,
    ],
    [
      'five members, one unhealthy',
      { a: true, b: true, c: true, d: true, e: false },
      'a',
      /etcd member e is not healthy.*leave 3 of 5/,
    ],
  ])('before a member goes down: %s', (_, m, name, problem) => {
    const found = memberDownProblem(members(m), name, words(name));
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe('etcd roll order and raft lag', () => {
  it.each([
    ['the leader in the middle', ['a', 'b', 'c'], 'b', ['a', 'c', 'b']],
    ['the leader first', ['a', 'b', 'c'], 'a', ['b', 'c', 'a']],
    ['no leader known: as given', ['a', 'b', 'c'], undefined, ['a', 'b', 'c']],
  ])('followers first, the leader last: %s', (_, members, leader, order) => {
    expect(followersFirst(members, (m) => m === leader)).toEqual(order);
  });

  it.each([
    ['caught up', 1000, [990, 1003], 16, []],
    ['ahead of the leader read before it', 1000, [1040], 16, []],
    ['one trailing past the tolerance', 1000, [980, 999], 16, [{ name: 'm0', raftIndex: 980, behind: 20 }]],
    ['no tolerance', 1000, [999], 0, [{ name: 'm0', raftIndex: 999, behind: 1 }]],
  ])('%s', (_, leaderIndex, indexes, tolerance, lagging) => {
    const members = indexes.map((raftIndex, i) => ({ name: `m${i}`, raftIndex }));
    expect(laggingMembers(leaderIndex, members, tolerance)).toEqual(lagging);
  });
});
