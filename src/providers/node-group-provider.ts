/**
 * How nodes are created and deleted, for the strategies that replace nodes instead of upgrading them in
 * place (surge, blue-green): a node group API, a cloud CLI, Terraform, the sandbox. The engine decides when
 * (intents recorded first, budgets respected, drained before deleted); a provider only asks for new
 * machines or removes one, and says how its new nodes are recognised once they register.
 *
 * IMPORTANT: deleteNode must be idempotent (a node already gone is success): after a crash the engine may
 * delete again a node whose deletion it had recorded. createNodes is never called twice for one intent by
 * the engine: on resume it looks for what the first call made (findCreated, then the recognition rule).
 */
import type { NewNodeRule } from './new-node-rule.ts';

interface ProviderCallContext {
  pool: string;
  runId: string;
  /** Fires when the run is stopping for good (a crash or an abort): stop waiting, kill what can be killed. */
  signal: AbortSignal;
  /** A file for the output of what the provider starts (under the state directory). */
  outputFile: string;
  /** One line of the provider's output for the run log. */
  log(line: string): void;
}

export interface CreateNodesContext extends ProviderCallContext {
  /** The kubelet version the new nodes run: a machine image or a node group version at the target. */
  version: string;
  count: number;
  /**
   * Labels the new nodes should carry, when the provider can set them (the sandbox can; a cloud CLI often
   * cannot, and the engine labels the nodes once it recognises them).
   */
  labels: Record<string, string>;
}

export interface DeleteNodeContext extends ProviderCallContext {
  node: string;
}

export interface NodeGroupProvider {
  /** 'sandbox' | 'command' | … (shown in the run log). */
  readonly kind: string;
  /** How a new node of a pool is recognised among the cluster's nodes once it registers. */
  readonly newNodes: NewNodeRule;
  /** Clock ms the engine waits for a created node to register and be Ready before it gives up. */
  readonly joinTimeoutMs: number;
  /**
   * Asks for `count` new nodes; resolves once the request is accepted (not once they are Ready) with the
   * names of the new nodes when the provider knows them (else []), or throws a ProviderError (a quota, a
   * failed create) whose message says why.
   */
  createNodes(ctx: CreateNodesContext): Promise<string[]>;
  /** Removes the node's machine (and its Node); a node already gone is success. */
  deleteNode(ctx: DeleteNodeContext): Promise<void>;
  /**
   * Machines the provider made with these labels that may not have registered yet (the sandbox lists them);
   * undefined when it cannot tell. Lets a resumed run adopt a create it had asked for before a crash.
   */
  findCreated?(pool: string, labels: Record<string, string>): Promise<string[] | undefined>;
  /**
   * Checks, before the run changes anything in `pool`, that the provider can serve it (Cluster API: the
   * pool's MachineDeployment exists); throws a ProviderError saying what is missing.
   */
  checkPool?(pool: string): Promise<void>;
  /**
   * For a provider whose create names no node (a Cluster API MachineDeployment scaled up): the nodes its
   * creates for `pool` at `version` registered so far (Machine.status.nodeRef), and why one failed after it
   * was accepted. When given, the engine recognises new nodes by it instead of by `newNodes`.
   */
  createdNodes?(pool: string, version: string): Promise<CreatedNodes>;
  /**
   * Takes back an accepted create that gave no usable node (it failed, or its node never joined), so
   * nothing is left behind; `ctx` is the create's own. A create already taken back is success.
   */
  withdrawCreate?(ctx: CreateNodesContext): Promise<void>;
}

export interface CreatedNodes {
  /** Names of the registered nodes. */
  nodes: string[];
  /** Why a create failed after the provider accepted it (a quota, a refused machine), if one did. */
  failed?: string;
}
