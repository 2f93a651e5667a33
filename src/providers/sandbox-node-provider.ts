/**
 * The `sandbox` node provider: the sandbox's node group API (`/sandbox/v1/pools/POOL/nodes`, `DELETE
 * /sandbox/v1/nodes/NAME`, docs/sandbox-admin-api.md) over HTTP, at the kubeconfig's cluster with its
 * credentials, as any client of the sandbox talks to it. The new nodes carry the labels the engine asks for,
 * and the create answers with their names.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { requestRaw } from '../kube/index.ts';
import type { NewNodeRule } from './new-node-rule.ts';
import type { CreateNodesContext, DeleteNodeContext, NodeGroupProvider } from './node-group-provider.ts';
import { ProviderError } from './upgrade-provider.ts';

export interface SandboxNodeProviderOptions {
  kc: KubeConfig;
  joinTimeoutMs: number;
  /** Default: the sandbox's pool label. */
  newNodes?: NewNodeRule;
}

interface Machine {
  name: string;
  state: string;
  labels: Record<string, string>;
}

export class SandboxNodeProvider implements NodeGroupProvider {
  readonly kind = 'sandbox';
  readonly newNodes: NewNodeRule;
  readonly joinTimeoutMs: number;

  constructor(private readonly options: SandboxNodeProviderOptions) {
    this.newNodes = options.newNodes ?? { selector: 'midflight.dev/pool={pool}' };
    this.joinTimeoutMs = options.joinTimeoutMs;
  }

  async createNodes(ctx: CreateNodesContext): Promise<string[]> {
    const path = `/sandbox/v1/pools/${encodeURIComponent(ctx.pool)}/nodes`;
    ctx.log(`POST ${path} ${ctx.count} node(s) at ${ctx.version}`);
    const res = await this.call('POST', path, ctx.pool, {
      version: ctx.version,
      count: ctx.count,
      labels: ctx.labels,
    });
    if (res.status !== 201)
      throw new ProviderError(
        `the sandbox refused to create ${ctx.count} node(s) in pool ${ctx.pool}: ${errorOf(res.body)}`,
        ctx.pool,
        [],
        // Note: a quota or a bad request stays as it is until someone changes it; a 500 may pass.
        res.status >= 500,
      );
    const names = (JSON.parse(res.body).items as Machine[]).map((m) => m.name);
    ctx.log(`created ${names.join(', ')}`);
    return names;
  }

  async deleteNode(ctx: DeleteNodeContext): Promise<void> {
    const path = `/sandbox/v1/nodes/${encodeURIComponent(ctx.node)}`;
    ctx.log(`DELETE ${path}`);
    const res = await this.call('DELETE', path, ctx.node);
    if (res.status === 200 || res.status === 404) return;
    throw new ProviderError(
      `the sandbox refused to delete ${ctx.node}: ${errorOf(res.body)}`,
      ctx.node,
      [],
      res.status >= 500,
    );
  }

  async findCreated(pool: string, labels: Record<string, string>): Promise<string[]> {
    const res = await this.call('GET', `/sandbox/v1/pools/${encodeURIComponent(pool)}/nodes`, pool);
    if (res.status !== 200)
      throw new ProviderError(`the sandbox did not list pool ${pool}'s machines: ${errorOf(res.body)}`, pool);
    return (JSON.parse(res.body).items as Machine[])
      .filter((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v))
      .map((m) => m.name);
  }

  private async call(method: string, path: string, subject: string, body?: unknown) {
    try {
      return await requestRaw(this.options.kc, method, path, { body });
    } catch (err) {
      throw new ProviderError(`${method} ${path} failed: ${(err as Error).message}`, subject);
    }
  }
}

function errorOf(body: string): string {
  try {
    return (JSON.parse(body) as { error?: string }).error ?? body;
  } catch {
    return body.slice(0, 200);
  }
}
