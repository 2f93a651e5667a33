/**
 * What a run tells its watchers as it goes: the CLI's live view and its `-o json` stream (one event per
 * line) are built from these. Every event carries the run id and the clock time.
 */
import type { GateEvaluation } from '../gates/gate-types.ts';
import type { NodeSubStep, PodBlock, RunMode, RunState, StepStatus } from '../store/index.ts';

interface Base {
  runId: string;
  /** Clock ms. */
  time: number;
}

// Note: a node's row keeps what blocks its drain, so the store owns the type (`status` reads it back).
export type { PodBlock };

export type RunEvent = Base &
  (
    | {
        type: 'run-started';
        planId: string;
        source: string;
        target: string;
        /** upgrade: the plan's phases; rollback: returning the nodes the run upgraded. */
        mode: RunMode;
        resumed: boolean;
      }
    | { type: 'phase-started'; phase: number; kind: string; name: string }
    | { type: 'phase-finished'; phase: number; kind: string; name: string; durationMs: number }
    | {
        type: 'step-started';
        phase: number;
        stepId: string;
        kind: string;
        title: string;
        nodes: string[];
      }
    | { type: 'step-finished'; stepId: string; status: StepStatus; durationMs: number }
    | {
        type: 'node-changed';
        stepId: string;
        node: string;
        status: StepStatus;
        subStep?: NodeSubStep;
        /** What is happening now: cordon, drain, upgrade, verify, uncordon. */
        activity?: string;
        message?: string;
      }
    | {
        type: 'eviction-progress';
        stepId: string;
        node: string;
        evicted: number;
        pending: number;
        blocking: PodBlock[];
      }
    | { type: 'soak'; stepId: string; untilMs: number }
    /** Outside every maintenance window: no node is admitted before `untilMs`, when the next opens. */
    | { type: 'window-wait'; untilMs: number; message: string }
    /** A health gate was evaluated (before an admission, during a soak); also stored with the run. */
    | { type: 'gate-evaluated'; evaluation: GateEvaluation }
    | { type: 'warning'; message: string; stepId?: string; node?: string }
    | {
        type: 'log';
        level: 'debug' | 'info' | 'warn' | 'error';
        message: string;
        stepId?: string;
        node?: string;
      }
    | { type: 'run-finished'; state: RunState; reason?: string; summary: RunSummary }
  );

export interface PhaseSummary {
  index: number;
  kind: string;
  name: string;
  status: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  durationMs?: number;
}

export interface NodeOutcome {
  node: string;
  stepId: string;
  reason: string;
}

export interface RunSummary {
  runId: string;
  planId: string;
  source: string;
  target: string;
  state: RunState;
  mode: RunMode;
  /** A health gate rolled back these steps' nodes (not the whole run): the upgrade did not go through. */
  rollbackScope?: string[];
  reason?: string;
  createdAt: number;
  finishedAt?: number;
  durationMs: number;
  phases: PhaseSummary[];
  /**
   * The canary and node-pool phases together, once they have all ended, against the plan's estimate and
   * lower bound (plan/lower-bound.ts): how close the run came to the best any execution could do.
   */
  nodePhase?: { durationMs: number; estimateMs: number; lowerBoundMs: number };
  nodes: {
    /** Upgraded in place by this run. */
    upgraded: string[];
    /** strategy surge: old nodes this run replaced with new ones and deleted (absent when none). */
    replaced?: Array<{ node: string; by: string }>;
    /** Found at the target already: not touched. */
    alreadyAtTarget: string[];
    skipped: NodeOutcome[];
    quarantined: NodeOutcome[];
    failed: NodeOutcome[];
    /** Rolled back to their previous version by `rollback`. */
    rolledBack: string[];
  };
  warnings: string[];
}
