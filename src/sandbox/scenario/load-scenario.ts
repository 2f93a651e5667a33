import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario } from './parse-scenario.ts';
import type { Scenario } from './scenario-types.ts';

const BUILTIN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');

export interface ScenarioListing {
  name: string;
  description: string;
}

/** The built-in scenarios (src/sandbox/scenarios/*.yaml), by name, with their descriptions. */
export function listScenarios(): ScenarioListing[] {
  return builtinFiles().map((file) => {
    const scenario = parseScenario(readFileSync(file, 'utf8'), file, `builtin:${basename(file, '.yaml')}`);
    return { name: scenario.name, description: scenario.description };
  });
}

/**
 * Loads a built-in scenario by name ("demo") or a scenario file by path. A path is anything with a slash
 * or a .yaml/.yml extension. Throws `ScenarioError` (every problem, with line:column) when invalid.
 */
export function loadScenario(nameOrPath: string): Scenario {
  const looksLikePath = /[\\/]/.test(nameOrPath) || /\.ya?ml$/.test(nameOrPath);
  if (!looksLikePath) {
    const file = join(BUILTIN_DIR, `${nameOrPath}.yaml`);
    if (!existsSync(file)) {
      const known = builtinFiles().map((f) => basename(f, '.yaml'));
      throw new Error(
        `no built-in scenario "${nameOrPath}"; built-ins: ${known.join(', ')} (or give a path to a .yaml file)`,
      );
    }
    return parseScenario(readFileSync(file, 'utf8'), file, `builtin:${nameOrPath}`);
  }
  if (!existsSync(nameOrPath)) throw new Error(`scenario file ${nameOrPath} does not exist`);
  return parseScenario(readFileSync(nameOrPath, 'utf8'), nameOrPath);
}

function builtinFiles(): string[] {
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(BUILTIN_DIR, f));
}
