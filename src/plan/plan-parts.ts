/** The pieces every phase builder makes its steps and phases from. */
import { parseDuration } from '../core/index.ts';
import type { PlanPhase, PlanStep } from './plan-types.ts';

/** A policy duration ("8m") in whole seconds, the unit of a plan's estimates. */
export const seconds = (d: string) => Math.round(parseDuration(d) / 1000);

/** A step of any kind, with no nodes and no reasons unless given. */
type StepInput<S> = S extends PlanStep
  ? Omit<S, 'nodes' | 'reasons'> & Partial<Pick<S, 'nodes' | 'reasons'>>
  : never;

export function step(s: StepInput<PlanStep>): PlanStep {
  return { ...s, nodes: s.nodes ?? [], reasons: s.reasons ?? [] };
}

export function phase(
  kind: PlanPhase['kind'],
  name: string,
  steps: PlanStep[],
  extra: { version?: string; pool?: string } = {},
): PlanPhase {
  return { kind, name, ...extra, steps, estimateSeconds: sum(steps.map((s) => s.estimateSeconds)) };
}

export function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
