import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import type { Scenario } from '../../src/sandbox/scenario/scenario-types.ts';
import { generatedScenarioYaml } from './generated-scenario.ts';
import { largeScenario } from './large-scenario.ts';

/**
 * The cluster a bench size names: a worker count (generated-scenario.ts's cluster of that many workers),
 * `large`, or `large/N` (large's shape at 1/N of its size); undefined for anything else.
 */
export function benchScenario(
  size: string,
): { label: string; scenario: Scenario; large: boolean } | undefined {
  const large = /^large(?:\/(\d+))?$/.exec(size);
  if (large) return { label: size, scenario: largeScenario(Number(large[1] ?? 1)), large: true };
  const workers = Number(size);
  if (!Number.isInteger(workers) || workers < 1) return undefined;
  return {
    label: `${workers} workers`,
    scenario: parseScenario(generatedScenarioYaml(workers), 'bench.yaml'),
    large: false,
  };
}
