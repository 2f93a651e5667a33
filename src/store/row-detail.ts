/**
 * What a step row's `detail` holds, by the kind of row. The stored JSON carries no kind: the row's key says
 * which it is (a phase's row `phase-<index>`, a step's own row with node '', a node's row within a step), and
 * the engine reads and writes each through the accessor for that kind (RunContext.phaseRow, stepRow,
 * nodeGroupRow, nodeRow). Every key is optional: a patch sets some, and rows written earlier lack newer ones.
 */
import type { DrainBlockerKind } from '../kube/index.ts';
import type { StepStateRecord } from './run-types.ts';

/** What any row may say. */
export interface RowDetail {
  /** Why the row failed, was skipped, quarantined or stopped (cleared when it starts again or succeeds). */
  reason?: string;
}

/** A phase's row. */
export interface PhaseRowDetail extends RowDetail {
  /** The phase's pre hooks ran: a resumed phase does not run them again. */
  preHookDone?: boolean;
}

/** The own row of a step that is not a group of nodes (preflight, etcd backup, control plane, add-ons, validation). */
export type StepRowDetail = RowDetail;

/** The own row of an external etcd member's step (engine/etcd-members.ts). */
export interface EtcdMemberRowDetail extends RowDetail {
  /** The member's id when its step started (written before its commands run): it must come back as itself. */
  memberId?: string;
  /** Its commands finished: a resume checks that it is back instead of running them again. */
  upgraded?: boolean;
}

/** The own row of a canary or wave: a group of worker nodes that flow, then are gated and soaked together. */
export interface NodeGroupRowDetail extends RowDetail {
  /** Every node of the group has ended (done, skipped or quarantined): a resume goes on to the gate and soak. */
  nodesDone?: boolean;
  /** Namespaces of the pods the group's drains evicted (the gate watches them). */
  namespaces?: string[];
  /** Clock ms the soak ends, fixed when it starts so that a resume does not soak again from the beginning. */
  soakUntil?: number;
  /** strategy blue-green, the pool's last wave: when the hold of the drained blue pool ends. */
  finalSoakUntil?: number;
  /** strategy blue-green: the blue pool was deleted after its final soak. */
  blueDeleted?: boolean;
}

/** A pod whose eviction is refused while a drain is in progress. */
export interface PodBlock {
  /** namespace/name */
  pod: string;
  /** The disruption budget refusing the eviction (namespace/name), when one is. */
  budget?: string;
  reason: string;
}

/** A pod that kept a drain from finishing, as recorded when the node was skipped, quarantined or failed. */
export interface DrainBlockRecord {
  /** namespace/name */
  pod: string;
  kind: DrainBlockerKind;
  budget?: string;
}

/** A node's row within a step. */
export interface NodeRowDetail extends RowDetail {
  /** Admitted ahead of the plan's order: the nodes passed over, and why (engine/admission.ts). */
  aheadOf?: string[];
  /** The node was at the target already: done without being touched (not counted as upgraded, not rolled back). */
  alreadyAtTarget?: boolean;
  /** Namespaces of the pods its drain evicted. */
  namespaces?: string[];
  /** How many pods its drain evicted. */
  evicted?: number;
  /** What blocks its drain right now (while draining). */
  blocking?: PodBlock[];
  /** What kept its drain from finishing. */
  blockers?: DrainBlockRecord[];
  /** A skipped node's second try also failed: it stays at its version until `resume`. */
  final?: boolean;
  /** The node was left behind this way and reopened by `resume`. */
  reopened?: 'skipped' | 'quarantined';
  /** strategy surge: the new node that takes this one's place (engine/surge-node.ts). */
  replacement?: ReplacementRecord;
  /** strategy surge: this (old) node was drained and deleted. */
  deleted?: boolean;
  /** strategy surge: the node that replaced this one, once it is done. */
  replacedBy?: string;
  /**
   * Clock ms each milestone was reached (RunContext.putNodeRow writes them with the sub-step): what
   * measured-history.ts derives a cluster's drain, upgrade and Ready times from.
   */
  drainedAt?: number;
  upgradedAt?: number;
  verifiedAt?: number;
}

/**
 * A surge replacement, written before each of its side effects: which slot of the pool's flow it holds, that
 * a create was asked for (and when: the join timeout runs from there), the new node's name once known, and
 * whether it was Ready at the version.
 */
export interface ReplacementRecord {
  /** surge: created and Ready before the old node is cordoned; unavailable: created once it is deleted. */
  slot: 'surge' | 'unavailable';
  requested?: boolean;
  requestedAt?: number;
  name?: string;
  /** The pool's nodes matching the provider's new-node rule when the create was asked: not new. */
  knownBefore?: string[];
  ready?: boolean;
}

/** A node's row within a step (node ≠ ''), among all the rows of a run (RunStore.stepStates). */
export function isNodeRow(row: StepStateRecord): row is StepStateRecord<NodeRowDetail> {
  return row.node !== '';
}
