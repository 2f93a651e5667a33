import { Registry } from 'prom-client';
import { type Clock, RealClock } from '../core/index.ts';
import { DEFAULT_TIMING, emptyFaults, type SandboxContext, type SimTiming } from './context.ts';
import { createEventRecorder } from './sim/event-recorder.ts';
import { ObjectStore } from './store/object-store.ts';

export interface CreateSandboxContextOptions {
  /** Default: the wall clock. */
  clock?: Clock;
  /** Overrides of DEFAULT_TIMING. */
  timing?: Partial<SimTiming>;
  /** Seed of ctx.random(); the same seed replays the same choices. Default 1. */
  seed?: number;
  /** Changes kept per resource for watches to resume from (see ObjectStore). */
  historySize?: number;
}

/** A fresh SandboxContext: an empty store, no faults, a new metrics registry, seeded randomness. */
export function createSandboxContext(options: CreateSandboxContextOptions = {}): SandboxContext {
  const clock = options.clock ?? new RealClock();
  const store = new ObjectStore(clock, { historySize: options.historySize });
  const ctx: SandboxContext = {
    clock,
    store,
    timing: { ...DEFAULT_TIMING, ...options.timing },
    faults: emptyFaults(),
    metrics: new Registry(),
    violations: [],
    random: seededRandom(options.seed ?? 1),
    recordEvent: createEventRecorder(store, clock),
  };
  return ctx;
}

/** mulberry32: small, fast and good enough for simulation choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
