/**
 * The gates' contract with the engine (issue 12's design note). Placeholder in this branch until gates-core's
 * own src/gates lands: the same types, nothing more.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../core/index.ts';

export type GateVerdict = 'success' | 'failure' | 'inconclusive';

export interface GateEvaluation {
  gate: string;
  time: number;
  query: string;
  value?: number;
  baseline?: number;
  verdict: GateVerdict;
  error?: string;
}

export type GateDecision =
  | { action: 'continue' }
  | { action: 'pause' | 'rollback'; gate: string; reason: string };

export interface GateMonitor {
  /** Records each gate's baseline over its window before the first node is touched (skips gates whose baseline is given). */
  baseline(known: Record<string, number>): Promise<Record<string, number>>;
  /** Evaluates every gate whose interval has come (on the injected clock) and says what the run must do now. */
  check(): Promise<GateDecision>;
}

export interface GateMonitorDeps {
  clock: Clock;
  kc: KubeConfig;
  /** Called for every evaluation, in order (the engine stores and shows them). */
  onEvaluation?: (e: GateEvaluation) => void;
  /** In-flight nodes, excluded by the node-readiness template (M2). */
  nodesInFlight?: () => string[];
  /** This run's id: M3 (unplanned disruption) leaves out evictions labelled with it. */
  runId: string;
  /** Where command gates write their output files (default: a fresh temporary directory). */
  workDir?: string;
}
