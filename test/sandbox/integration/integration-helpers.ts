import { ApiException, type V1Pod } from '@kubernetes/client-node';
import { parseScenario } from '../../../src/sandbox/scenario/parse-scenario.ts';
import type { Scenario } from '../../../src/sandbox/scenario/scenario-types.ts';

/** A scenario written inline in a test, validated exactly as a scenario file is. */
export function scenarioFromYaml(yaml: string, file = 'inline.yaml'): Scenario {
  return parseScenario(yaml, file);
}

/**
 * Polls `probe` (wall time) until it returns something other than undefined/false, and returns that.
 * The sandbox runs on a scaled clock, so a few simulated seconds take a few hundred milliseconds.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 8_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The ApiException a client-node call fails with; anything else (or success) fails the test. */
export async function apiError(promise: Promise<unknown>): Promise<ApiException<string>> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) return err as ApiException<string>;
    throw err;
  }
  throw new Error('expected the call to fail');
}

export function isPodReady(pod: V1Pod): boolean {
  return (
    !pod.metadata?.deletionTimestamp &&
    (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

export function evictionOf(namespace: string, name: string) {
  return {
    namespace,
    name,
    body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
  };
}
