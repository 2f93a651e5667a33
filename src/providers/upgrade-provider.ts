/**
 * How one node (or control-plane member) is upgraded. The engine cordons, drains, verifies and uncordons;
 * a provider only performs the upgrade itself and resolves once it is over, or throws a ProviderError.
 *
 * IMPORTANT: upgradeNode must be idempotent: after a crash the engine may call it again for a node whose
 * upgrade is in flight or done (the command should join or no-op; the job provider re-attaches).
 */
import type { FailureClass } from '../core/index.ts';

export type NodeRole = 'control-plane' | 'worker';

export interface UpgradeContext {
  node: string;
  version: string;
  /** The node's kubelet version before this call (one minor below `version` unless the provider skips minors). */
  previousVersion: string;
  /** The node's pool ('control-plane' for control-plane members). */
  pool: string;
  role: NodeRole;
  runId: string;
  /** Fires when the run is aborted or the process is stopping: stop waiting (and kill what can be killed). */
  signal: AbortSignal;
  /**
   * A file for the output of what the provider starts (the run's output log for this node, under the state
   * directory): it outlives midflight, so a command keeps writing even if midflight is killed.
   */
  outputFile: string;
  /** One line of the provider's output for the run log. */
  log(line: string): void;
}

export interface UpgradeProvider {
  /** 'command' | 'job' | … (shown in the run log). */
  readonly kind: string;
  /**
   * Whether one call may move a node across several minors. False (the default) for in-place upgrades:
   * kubeadm and the kubelet packages support one minor at a time, so the engine calls the provider once per
   * minor. True for a provider that replaces the machine from an image or asks a managed node group for
   * the version: the new node starts at the target whatever the old one ran.
   */
  readonly skipsMinors?: boolean;
  upgradeNode(ctx: UpgradeContext): Promise<void>;
}

export class ProviderError extends Error {
  /** Transient for a failed or timed-out attempt; permanent for a misconfiguration. */
  readonly failureClass: FailureClass;
  constructor(
    message: string,
    readonly node: string,
    /** The last lines of output, for the run log and the failure reason. */
    readonly outputTail: string[] = [],
    /** Whether trying again may help (a timeout or a failed attempt; not a misconfiguration). */
    retryable = true,
  ) {
    super(message);
    this.name = 'ProviderError';
    this.failureClass = retryable ? 'transient' : 'permanent';
  }
}

/** The provider settings in the policy are wrong: names the field, as the policy validator does. */
export class ProviderConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
    /** The policy section the field is in: `provider`, `etcd` (the etcd member provider's) or `nodeProvider`. */
    readonly section = 'provider',
  ) {
    super(`${section}.${field}: ${message}`);
    this.name = 'ProviderConfigError';
  }
}

/** Keeps the last `max` lines of output. */
export class OutputTail {
  private readonly lines: string[] = [];
  constructor(private readonly max = 40) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  get(): string[] {
    return [...this.lines];
  }
}
