/**
 * The `command` node provider: templated shell commands that create and delete nodes, e.g.
 *
 *   create: aws autoscaling set-desired-capacity --auto-scaling-group-name {pool} --desired-capacity …
 *   create: ./add-nodes.sh {pool} {version} {count}
 *   delete: gcloud compute instance-groups managed delete-instances {pool} --instances={node}
 *
 * run through the project's one command runner (run-command.ts). Placeholders are shell-quoted. A create
 * command rarely knows the names of the machines it started: the engine recognises them by the policy's
 * `newNodes` rule once they register.
 */
import { fillTemplate as fill } from '../core/index.ts';
import type { NewNodeRule } from './new-node-rule.ts';
import type { CreateNodesContext, DeleteNodeContext, NodeGroupProvider } from './node-group-provider.ts';
import { runLoggedCommand } from './run-command.ts';
import { ProviderError } from './upgrade-provider.ts';

export const CREATE_PLACEHOLDERS = ['pool', 'version', 'count', 'runId', 'kubeconfig'] as const;
export const DELETE_PLACEHOLDERS = ['node', 'pool', 'runId', 'kubeconfig'] as const;

export interface CommandNodeProviderOptions {
  create: string;
  delete: string;
  newNodes: NewNodeRule;
  joinTimeoutMs: number;
  /** Wall-clock deadline of one command; 0 = none. */
  timeoutMs: number;
  kubeconfigPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  killGraceMs?: number;
}

export class CommandNodeProvider implements NodeGroupProvider {
  readonly kind = 'command';
  readonly newNodes: NewNodeRule;
  readonly joinTimeoutMs: number;

  constructor(private readonly options: CommandNodeProviderOptions) {
    this.newNodes = options.newNodes;
    this.joinTimeoutMs = options.joinTimeoutMs;
  }

  async createNodes(ctx: CreateNodesContext): Promise<string[]> {
    const command = fill(this.options.create, {
      pool: ctx.pool,
      version: ctx.version,
      count: String(ctx.count),
      runId: ctx.runId,
      kubeconfig: this.options.kubeconfigPath ?? '',
    });
    await this.run(command, ctx, `create of ${ctx.count} node(s) in pool ${ctx.pool}`, ctx.pool);
    return [];
  }

  async deleteNode(ctx: DeleteNodeContext): Promise<void> {
    const command = fill(this.options.delete, {
      node: ctx.node,
      pool: ctx.pool,
      runId: ctx.runId,
      kubeconfig: this.options.kubeconfigPath ?? '',
    });
    await this.run(command, ctx, `delete of ${ctx.node}`, ctx.node);
  }

  private async run(
    command: string,
    ctx: CreateNodesContext | DeleteNodeContext,
    what: string,
    subject: string,
  ): Promise<void> {
    ctx.log(`$ ${command}`);
    if (ctx.signal.aborted) throw new ProviderError(`${what} not started: the run is stopping`, subject);
    const result = await runLoggedCommand({
      script: command,
      env: this.options.env,
      cwd: this.options.cwd,
      timeoutMs: this.options.timeoutMs,
      killGraceMs: this.options.killGraceMs,
      signal: ctx.signal,
      outputFile: ctx.outputFile,
      tailLines: 40,
      log: (line) => ctx.log(line),
    });
    if (result.failure === undefined) return;
    throw new ProviderError(`the ${what} command ${result.failure}`, subject, result.tail, result.started);
  }
}
