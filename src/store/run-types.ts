/** The records the run store keeps: one row per run, one per step (and per node of a node step), a log. */
import type { RowDetail } from './row-detail.ts';

export const RUN_STATES = [
  'pending',
  'running',
  'paused',
  'failed',
  /** Finished its plan but left nodes behind (drain.onTimeout skip or quarantine): `resume` retries them. */
  'incomplete',
  'succeeded',
  'aborted',
  'rolled-back',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** States from which `resume` may continue the run. */
export const RESUMABLE_STATES: readonly RunState[] = ['pending', 'running', 'paused', 'failed', 'incomplete'];

/** States in which an execution has ended for good (the run gets a finish time). */
export const FINISHED_STATES: readonly RunState[] = [
  'succeeded',
  'aborted',
  'rolled-back',
  'failed',
  'incomplete',
];

/**
 * What executing the run does: carry out its plan, or return the nodes it upgraded (`midflight rollback`).
 * Recorded on the run so that pause, abort, Ctrl-C and a crash followed by `resume` continue the same work.
 */
export const RUN_MODES = ['upgrade', 'rollback'] as const;
export type RunMode = (typeof RUN_MODES)[number];

export type RequestedAction = 'pause' | 'abort';

export const STEP_STATUSES = ['pending', 'running', 'done', 'failed', 'skipped', 'quarantined'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** A node's step has ended: upgraded, or set aside (skipped, quarantined) by drain.onTimeout. */
export function nodeStepEnded(status: StepStatus | undefined): boolean {
  return status === 'done' || status === 'skipped' || status === 'quarantined';
}

/** Milestones of one node, in order: the last one reached is stored, so a resume knows what is done. */
export const NODE_SUB_STEPS = ['cordoned', 'drained', 'upgraded', 'verified', 'uncordoned'] as const;
export type NodeSubStep = (typeof NODE_SUB_STEPS)[number];

/** The side effect a step was about to perform when it was last written (written BEFORE it happens). */
/** What was about to happen when the row was written; `admit`: a wave let the node into its flow. */
export type StepIntent =
  | 'admit'
  | 'cordon'
  | 'drain'
  | 'upgrade'
  | 'verify'
  | 'uncordon'
  | 'run'
  | 'soak'
  /** strategy surge: a replacement node is being asked for, or a node (old, or a replacement that never joined) deleted. */
  | 'create'
  | 'delete';

export interface RunRecord {
  id: string;
  /** The plan as JSON text, exactly as applied. */
  planJson: string;
  planId: string;
  planHash: string;
  clusterFingerprint: string;
  clusterServer: string;
  source: string;
  target: string;
  state: RunState;
  mode: RunMode;
  /** Why the run is in its state (the failure, the pause, the abort), when there is a reason to give. */
  reason?: string;
  requestedAction?: RequestedAction;
  /** Options of the request, e.g. `{keepCordoned: true}` for an abort. */
  requestDetail?: Record<string, unknown>;
  /** Who executes (or last executed) the run: the Lease holder identity. */
  holder?: string;
  /**
   * In rollback mode, the steps whose nodes the rollback returns (a health gate rolled back one wave);
   * undefined: every node the run upgraded.
   */
  rollbackScope?: string[];
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
}

export interface NewRun {
  id: string;
  planJson: string;
  planId: string;
  planHash: string;
  clusterFingerprint: string;
  clusterServer: string;
  source: string;
  target: string;
  holder?: string;
}

/** One row of a run: a phase's, a step's own (node ''), or a node's within a step; `D` is its detail (row-detail.ts). */
export interface StepStateRecord<D extends RowDetail = RowDetail> {
  runId: string;
  stepId: string;
  /** '' for a step as a whole; the node name for one node of a node step. */
  node: string;
  status: StepStatus;
  attempt: number;
  subStep?: NodeSubStep;
  intent?: StepIntent;
  /** Recorded BEFORE cordoning: a node the run did not cordon is never uncordoned by it. */
  wasAlreadyCordoned?: boolean;
  /** The node's kubelet version before the run touched it (what rollback returns to). */
  previousVersion?: string;
  detail: D;
  startedAt?: number;
  finishedAt?: number;
  updatedAt: number;
}

export type StepStatePatch<D extends RowDetail = RowDetail> = Partial<
  Omit<StepStateRecord, 'runId' | 'stepId' | 'node' | 'updatedAt' | 'detail'>
> & {
  /** Merged into the stored detail (a key set to undefined is removed). */
  detail?: D;
};

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  id: number;
  runId: string;
  time: number;
  level: LogLevel;
  step?: string;
  node?: string;
  message: string;
  data?: Record<string, unknown>;
}

export type NewLogEntry = Omit<LogEntry, 'id' | 'runId' | 'time'>;

/**
 * One evaluation of a health gate, as recorded with the run (the same fields as the gates' GateEvaluation;
 * the store keeps its own copy of the shape, as it imports nothing above core).
 */
export interface GateEvaluationRecord {
  id: number;
  runId: string;
  gate: string;
  /** Clock ms. */
  time: number;
  query: string;
  value?: number;
  baseline?: number;
  verdict: 'success' | 'failure' | 'inconclusive';
  /** Why the gate could not be measured (the query failed, returned nothing). */
  error?: string;
}

export type NewGateEvaluation = Omit<GateEvaluationRecord, 'id' | 'runId'>;
