import { stringify } from 'yaml';
import type { Plan } from './plan-types.ts';

/** The plan file `apply` takes (JSON is `JSON.stringify(plan, null, 2)`). */
export function renderPlanYaml(plan: Plan): string {
  return stringify(plan, { lineWidth: 0, aliasDuplicateObjects: false });
}

export function renderPlanJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
