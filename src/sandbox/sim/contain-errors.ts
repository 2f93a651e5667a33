import { Counter, type Registry } from 'prom-client';
import type { SandboxContext } from '../context.ts';

/**
 * A wall around each piece of simulated work (a timer callback, a store-change listener, one object of a
 * batch). The API server refuses malformed objects, but objects can still be odd (written by the sandbox's
 * own builders, or a rule the server does not check): whatever one of them makes an actor throw must not
 * escape into Node's timer loop, where it would end the process, nor into the store's change notification,
 * where it would turn the client's write into a 500 and keep the remaining listeners from hearing of it.
 *
 * A contained error is counted in `sandbox_simulation_errors_total{actor}` and written to stderr the first
 * time its actor meets that message; then the work goes on with the next timer, event or object.
 */

const METRIC = 'sandbox_simulation_errors_total';
/** Distinct messages logged per registry (one per sandbox), so a bad object retried every second logs once. */
const logged = new WeakMap<Registry, Set<string>>();

/** Runs `work` for `actor`; an exception is reported, never thrown. */
export function contain(ctx: SandboxContext, actor: string, work: () => void): void {
  try {
    work();
  } catch (err) {
    reportSimulationError(ctx, actor, err);
  }
}

/**
 * `fn` wrapped as `contain` wraps work: for timer callbacks and store listeners.
 * Note: its own try/catch rather than a call to `contain`, which would cost a closure per call; store
 * listeners run on every write of the sandbox.
 */
export function contained<A extends unknown[]>(
  ctx: SandboxContext,
  actor: string,
  fn: (...args: A) => void,
): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      reportSimulationError(ctx, actor, err);
    }
  };
}

export function reportSimulationError(ctx: SandboxContext, actor: string, err: unknown): void {
  counterOf(ctx.metrics).inc({ actor });
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  let seen = logged.get(ctx.metrics);
  if (!seen) {
    seen = new Set();
    logged.set(ctx.metrics, seen);
  }
  const key = `${actor}\u0000${message}`;
  if (seen.has(key)) return;
  seen.add(key);
  const where = err instanceof Error ? (err.stack?.split('\n')[1]?.trim() ?? '') : '';
  process.stderr.write(
    `midflight sandbox: ${actor} failed and carried on: ${message}${where ? ` (${where})` : ''}; repeats are counted in ${METRIC}\n`,
  );
}

function counterOf(registry: Registry): Counter<'actor'> {
  const existing = registry.getSingleMetric(METRIC) as Counter<'actor'> | undefined;
  return (
    existing ??
    new Counter({
      name: METRIC,
      help: 'Errors thrown inside the simulation (kubelets, scheduler, controllers) that were caught so it could go on.',
      labelNames: ['actor'],
      registers: [registry],
    })
  );
}
