/**
 * One measurement's verdict, as Argo Rollouts judges an analysis measurement:
 * - the failure condition holds → failure (it is checked first);
 * - else the success condition holds → success;
 * - else, with both conditions set → inconclusive (between "good" and "bad": a person should look);
 *   with only a success condition → failure; with only a failure condition → success.
 */
import { type Condition, evaluateCondition } from './condition.ts';
import type { GateVerdict } from './gate-types.ts';

export interface GateConditions {
  success?: Condition;
  failure?: Condition;
}

/** Throws when a condition reads a baseline the gate does not have. */
export function verdictOf(conditions: GateConditions, result: number, baseline?: number): GateVerdict {
  const inputs = { result, baseline };
  if (conditions.failure && evaluateCondition(conditions.failure, inputs)) return 'failure';
  if (!conditions.success) return 'success';
  if (evaluateCondition(conditions.success, inputs)) return 'success';
  return conditions.failure ? 'inconclusive' : 'failure';
}
