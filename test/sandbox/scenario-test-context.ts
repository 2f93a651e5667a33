import { Registry } from 'prom-client';
import { type Clock, VirtualClock } from '../../src/core/clock.ts';
import { DEFAULT_TIMING, emptyFaults, type SandboxContext } from '../../src/sandbox/context.ts';
import { ObjectStore } from '../../src/sandbox/store/object-store.ts';

/** A sandbox context for tests of the scenario area: virtual clock, fresh store, seeded randomness. */
export function scenarioTestContext(clock: Clock = new VirtualClock(), seed = 1): SandboxContext {
  let state = seed >>> 0 || 1;
  const store = new ObjectStore(clock);
  return {
    clock,
    store,
    timing: { ...DEFAULT_TIMING },
    faults: emptyFaults(),
    metrics: new Registry(),
    violations: [],
    random() {
      // xorshift32: deterministic and good enough for names.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    },
    recordEvent() {},
  };
}
