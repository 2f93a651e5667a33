/**
 * The admission rule (core/admission.ts): which node of a wave goes next when a slot frees, judged from the
 * budgets as they are now and the evictions still pending in the drains in flight.
 */
import { describe, expect, it } from 'vitest';
import {
  type AdmissionCandidate,
  type AdmissionInput,
  type AdmissionVerdict,
  chooseNextNode,
  judgeCandidate,
} from '../../src/core/admission.ts';

const candidate = (node: string, evictions: Record<string, number> = {}): AdmissionCandidate => ({
  node,
  evictions: new Map(Object.entries(evictions)),
});

const input = (
  candidates: AdmissionCandidate[],
  allowed: Record<string, number>,
  draining: Record<string, number> = {},
): AdmissionInput => ({
  candidates,
  allowed: new Map(Object.entries(allowed)),
  draining: new Map(Object.entries(draining)),
});

describe('judgeCandidate', () => {
  it.each<[string, Record<string, number>, Record<string, number>, Record<string, number>, AdmissionVerdict]>(
    [
      ['no budget at all', {}, {}, {}, { kind: 'clear' }],
      ['a budget that allows its pods, nobody draining it', { web: 1 }, { web: 1 }, {}, { kind: 'clear' }],
      ['pods of a budget counted as zero are no eviction', { web: 0 }, { web: 0 }, {}, { kind: 'clear' }],
      [
        'a budget that covers both this drain and the one in flight',
        { web: 1 },
        { web: 2 },
        { web: 1 },
        { kind: 'clear' },
      ],
      [
        'a budget another drain is consuming, not enough for both',
        { web: 1 },
        { web: 1 },
        { web: 1 },
        { kind: 'contended', budget: 'web', queued: 1, waitMs: 0 },
      ],
      [
        'a budget another drain is consuming that allows none now: contended, not recovering',
        { web: 1 },
        { web: 0 },
        { web: 1 },
        { kind: 'contended', budget: 'web', queued: 2, waitMs: 0 },
      ],
      [
        'a budget allowing none now that nobody is draining',
        { api: 1 },
        { api: 0 },
        {},
        { kind: 'recovering', budget: 'api', waitMs: 0 },
      ],
      [
        'a budget not listed in allowed allows none',
        { ghost: 1 },
        {},
        {},
        { kind: 'recovering', budget: 'ghost', waitMs: 0 },
      ],
      [
        // The rule looks only at whether an eviction can start now: the drain evicts one pod at once and the
        // rest as replacements become Ready; no other drain waits on it.
        'its own pods exceed a budget that allows some, nobody else draining it: clear',
        { web: 3 },
        { web: 1 },
        {},
        { kind: 'clear' },
      ],
      [
        'its own pods exceed a budget that allows none, nobody else draining it: recovering',
        { web: 3 },
        { web: 0 },
        {},
        { kind: 'recovering', budget: 'web', waitMs: 0 },
      ],
      [
        'contended on one budget beats recovering on another, whatever their order',
        { api: 1, web: 1 },
        { api: 0, web: 1 },
        { web: 1 },
        { kind: 'contended', budget: 'web', queued: 1, waitMs: 0 },
      ],
      [
        'the first recovering budget in its evictions is named',
        { api: 1, db: 1 },
        { api: 0, db: 0 },
        {},
        { kind: 'recovering', budget: 'api', waitMs: 0 },
      ],
      [
        'draining a budget the candidate does not touch does not matter',
        { api: 1 },
        { api: 1, web: 1 },
        { web: 1 },
        { kind: 'clear' },
      ],
    ],
  )('%s', (_name, evictions, allowed, draining, verdict) => {
    const c = candidate('n', evictions);
    expect(judgeCandidate(c, input([c], allowed, draining))).toEqual(verdict);
  });
});

describe('chooseNextNode', () => {
  it("takes the header's worked example: d goes, b (contended) and c (recovering) are passed over", () => {
    const choice = chooseNextNode(
      input(
        [candidate('b', { web: 1 }), candidate('c', { api: 1 }), candidate('d')],
        { web: 1, api: 0 },
        {
          web: 1,
        },
      ),
    );
    expect(choice).toEqual({
      node: 'd',
      verdict: { kind: 'clear' },
      passedOver: [
        { node: 'b', verdict: { kind: 'contended', budget: 'web', queued: 1, waitMs: 0 } },
        { node: 'c', verdict: { kind: 'recovering', budget: 'api', waitMs: 0 } },
      ],
    });
  });

  // Budgets: web is contended (allows 1, one pod still to go in flight), api recovering (allows 0), free clear.
  const allowed = { web: 1, api: 0, free: 5 };
  const draining = { web: 1 };
  const kinds = {
    contended: { web: 1 },
    recovering: { api: 1 },
    clear: { free: 1 },
  } as const;
  type Kind = keyof typeof kinds;

  it.each<[string, Kind[], number]>([
    ['clear beats recovering and contended', ['contended', 'recovering', 'clear'], 2],
    ['clear beats recovering', ['recovering', 'clear'], 1],
    ['recovering beats contended', ['contended', 'recovering', 'contended'], 1],
    ['the plan order breaks a tie between clear ones', ['clear', 'clear'], 0],
    ['the plan order breaks a tie between recovering ones', ['contended', 'recovering', 'recovering'], 1],
    ['the plan order breaks a tie between contended ones', ['contended', 'contended'], 0],
    ['a clear first candidate passes nobody over', ['clear', 'contended', 'recovering'], 0],
    ['the last clear one is found behind many others', ['contended', 'recovering', 'recovering', 'clear'], 3],
  ])('%s', (_name, order, chosen) => {
    const candidates = order.map((k, i) => candidate(`n${i}`, kinds[k]));
    const choice = chooseNextNode(input(candidates, allowed, draining))!;
    expect(choice.node).toBe(`n${chosen}`);
    expect(choice.verdict.kind).toBe(order[chosen]);
    // Exactly the candidates before the chosen one, in order, each with its own verdict.
    expect(choice.passedOver).toEqual(
      candidates.slice(0, chosen).map((c) => ({
        node: c.node,
        verdict: judgeCandidate(c, input(candidates, allowed, draining)),
      })),
    );
    expect(choice.passedOver.map((p) => p.verdict.kind)).toEqual(order.slice(0, chosen));
  });

  it('takes a contended node when every candidate is contended: its drain waits seconds, an empty slot a cycle', () => {
    const choice = chooseNextNode(input([candidate('a', { web: 1 })], { web: 1 }, { web: 1 }));
    expect(choice).toEqual({
      node: 'a',
      verdict: { kind: 'contended', budget: 'web', queued: 1, waitMs: 0 },
      passedOver: [],
    });
  });

  it('among contended candidates takes the one with the fewest evictions queued ahead, then the plan order', () => {
    // web allows 1 and a drain in flight has 2 of its pods to go; api allows 1 and one of its pods is to go.
    const allowed = { web: 1, api: 1 };
    const draining = { web: 2, api: 1 };
    const choice = chooseNextNode(
      input(
        [
          candidate('a', { web: 2 }),
          candidate('b', { web: 1, api: 1 }),
          candidate('c', { api: 1 }),
          candidate('d', { api: 1 }),
        ],
        allowed,
        draining,
      ),
    );
    expect(choice?.node).toBe('c');
    expect(choice?.verdict).toEqual({ kind: 'contended', budget: 'api', queued: 1, waitMs: 0 });
    expect(choice?.passedOver.map((p) => p.node)).toEqual(['a', 'b']);
  });

  it("takes the header's worked example without d: c's budget is due back sooner than b's", () => {
    const choice = chooseNextNode({
      ...input([candidate('b', { web: 1 }), candidate('c', { api: 1 })], { web: 1, api: 0 }, { web: 1 }),
      defaultRecoveryMs: 30_000,
      dueBackMs: new Map([['api', 10_000]]),
    });
    expect(choice).toEqual({
      node: 'c',
      verdict: { kind: 'recovering', budget: 'api', waitMs: 10_000 },
      passedOver: [{ node: 'b', verdict: { kind: 'contended', budget: 'web', queued: 1, waitMs: 30_000 } }],
    });
  });

  it('a clear candidate beats one whose budget is due back at once', () => {
    const choice = chooseNextNode({
      ...input([candidate('a', { api: 1 }), candidate('b', { free: 1 })], { api: 0, free: 1 }),
      defaultRecoveryMs: 5_000,
      dueBackMs: new Map([['api', 0]]),
    });
    expect(choice?.node).toBe('b');
  });

  it('among waiting candidates takes the shortest wait, whatever the kinds: a StatefulSet budget recovers a stop later', () => {
    // a: its cache pod waits for a drain in flight to evict cache's pod, which comes back stop + start-up later;
    // b: its web pod waits for web, due back in a whole recovery (the drain in flight evicted its pod just now).
    const choice = chooseNextNode({
      ...input(
        [candidate('a', { cache: 1 }), candidate('b', { web: 1 })],
        { cache: 1, web: 0 },
        { cache: 1 },
      ),
      defaultRecoveryMs: 5_000,
      recoveryMs: new Map([['cache', 7_000]]),
    });
    expect(choice?.node).toBe('b');
    expect(choice?.verdict).toEqual({ kind: 'recovering', budget: 'web', waitMs: 5_000 });
    expect(choice?.passedOver).toEqual([
      { node: 'a', verdict: { kind: 'contended', budget: 'cache', queued: 1, waitMs: 7_000 } },
    ]);
  });

  it("a candidate's wait is its slowest budget's, not their sum: budgets recover in parallel", () => {
    const c = candidate('a', { web: 1, api: 1, db: 2 });
    const verdict = judgeCandidate(c, {
      ...input([c], { web: 0, api: 0, db: 1 }),
      defaultRecoveryMs: 5_000,
      dueBackMs: new Map([
        ['web', 1_000],
        ['api', 3_000],
      ]),
    });
    // web and api are back in 1 s and 3 s; db allows one of its two pods now, the second a recovery later.
    expect(verdict).toEqual({ kind: 'recovering', budget: 'web', waitMs: 5_000 });
  });

  it('evictions queued on a budget are served one per recovery, those in flight first', () => {
    const c = candidate('a', { web: 1 });
    const verdict = judgeCandidate(c, {
      ...input([c], { web: 0 }, { web: 2 }),
      defaultRecoveryMs: 5_000,
      dueBackMs: new Map([['web', 2_000]]),
    });
    // Back in 2 s for the first pod in flight, 5 s later for the second, 5 s later for this one.
    expect(verdict).toEqual({ kind: 'contended', budget: 'web', queued: 3, waitMs: 12_000 });
  });

  it('on equal waits takes the node holding pods of the budget with the most pods left on the waiting nodes', () => {
    // web has 3 pods left on the candidates, api 1: b's web pod goes before a's api pod, though a is first.
    const candidates = [candidate('a', { api: 1 }), candidate('b', { web: 1 }), candidate('c', { web: 2 })];
    const choice = chooseNextNode({
      ...input(candidates, { api: 1, web: 1 }),
      left: new Map([
        ['api', 1],
        ['web', 3],
      ]),
    });
    expect(choice?.node).toBe('b');
    expect(choice?.passedOver).toEqual([{ node: 'a', verdict: { kind: 'clear' } }]);
  });

  it('a clear candidate still beats one due back at once with more pods left', () => {
    const candidates = [candidate('a', { web: 1 }), candidate('b', { api: 1 })];
    const choice = chooseNextNode({
      ...input(candidates, { web: 0, api: 1 }),
      defaultRecoveryMs: 5_000,
      dueBackMs: new Map([['web', 0]]),
      left: new Map([
        ['web', 5],
        ['api', 1],
      ]),
    });
    expect(choice?.node).toBe('b');
  });

  it('a shorter wait beats more pods left', () => {
    const candidates = [candidate('a', { web: 1 }), candidate('b', { api: 1 })];
    const choice = chooseNextNode({
      ...input(candidates, { web: 0, api: 0 }),
      defaultRecoveryMs: 5_000,
      dueBackMs: new Map([
        ['web', 4_000],
        ['api', 1_000],
      ]),
      left: new Map([
        ['web', 5],
        ['api', 1],
      ]),
    });
    expect(choice?.node).toBe('b');
  });

  it.each<[string, number, string]>([
    // hub shares web with a and api with b; a and b share nothing. hub holds the budget with the most pods left.
    ['two slots free: the one leaving the most others clear, so both slots drain at once', 2, 'a'],
    ['one slot free: the next choice comes later, so the budget with the most pods left', 1, 'hub'],
  ])('%s', (_, slotsFree, node) => {
    const choice = chooseNextNode({
      ...input(
        [
          candidate('hub', { web: 1, api: 1, big: 1 }),
          candidate('a', { web: 1 }),
          candidate('b', { api: 1 }),
        ],
        { web: 1, api: 1, big: 1 },
      ),
      left: new Map([
        ['web', 2],
        ['api', 2],
        ['big', 3],
      ]),
      slotsFree,
    });
    expect(choice?.node).toBe(node);
  });

  it('has nothing to choose from no candidates', () => {
    expect(chooseNextNode(input([], { web: 1 }))).toBeUndefined();
  });
});
