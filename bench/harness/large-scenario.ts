import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import type { Scenario } from '../../src/sandbox/scenario/scenario-types.ts';

/** The large scenario's control plane and workers are at v1.31.4. */
export const LARGE_TARGET = 'v1.32.2';

/**
 * The built-in `large` scenario, its node pools and workload copies divided by `divisor` (at least 1 each):
 * `large/N` in the benches, large's shape (30 pods a node) at 1/N of its size.
 */
export function largeScenario(divisor: number): Scenario {
  const file = new URL('../../src/sandbox/scenarios/large.yaml', import.meta.url);
  const doc = parseDocument(readFileSync(file, 'utf8'));
  const scaled = (path: Array<string | number>) => {
    const n = doc.getIn(path);
    if (typeof n === 'number') doc.setIn(path, Math.max(1, Math.round(n / divisor)));
  };
  const pools = doc.getIn(['nodePools']) as { items: unknown[] };
  for (let i = 0; i < pools.items.length; i++) scaled(['nodePools', i, 'count']);
  const workloads = doc.getIn(['workloads']) as { items: unknown[] };
  for (let i = 0; i < workloads.items.length; i++) {
    scaled(['workloads', i, 'copies']);
    if (doc.getIn(['workloads', i, 'unmanaged'])) scaled(['workloads', i, 'replicas']);
  }
  return parseScenario(doc.toString(), file.pathname, 'builtin:large');
}
