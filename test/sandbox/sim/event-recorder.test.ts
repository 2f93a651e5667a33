import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/core/clock.ts';
import { R } from '../../../src/sandbox/api/resources.ts';
import { createEventRecorder } from '../../../src/sandbox/sim/event-recorder.ts';
import { ObjectStore } from '../../../src/sandbox/store/object-store.ts';

const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'app', uid: `uid-${name}` },
});

describe('the sandbox event recorder', () => {
  it('keeps at most maxEvents, dropping the oldest first, so a huge upgrade cannot exhaust memory', () => {
    const clock = new VirtualClock();
    const store = new ObjectStore(clock);
    const record = createEventRecorder(store, clock, 60 * 60_000, 3);
    for (const name of ['a', 'b', 'c', 'd', 'e'])
      record(pod(name), 'Normal', 'Started', 'Started container app', 'kubelet');
    const left = store.list(R.events).map((e) => (e.involvedObject as { name: string }).name);
    expect(left.sort()).toEqual(['c', 'd', 'e']);
  });

  it('names Events after their object and a unique hex time, even on a fractional virtual clock', async () => {
    const clock = new VirtualClock();
    const store = new ObjectStore(clock);
    const record = createEventRecorder(store, clock);
    await clock.advance(0.5);
    for (let i = 0; i < 3; i++) record(pod('a'), 'Normal', 'Pulled', `message ${i}`, 'kubelet');
    const names = store.list(R.events).map((e) => e.metadata.name!);
    expect(new Set(names).size).toBe(3);
    for (const name of names) expect(name).toMatch(/^a\.[0-9a-f]{10,}$/);
  });
});
