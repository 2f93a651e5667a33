import { compareVersions, parseReleaseVersion, parseVersion, tryParseVersion } from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { SandboxContext } from '../context.ts';
import { UPGRADE_TARGET_ANNOTATION } from '../scenario/annotations.ts';
import { CONTROL_PLANE_LABEL } from '../scenario/node-object.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject } from '../store/types.ts';
import type { ControlPlane, NodeRebooter } from './control-plane.ts';
import type { PodBehaviourFactory } from './pod-completions.ts';
import { spreadMs } from './timing-spread.ts';

/** What a Job pod does when run by the kubelet fleet (kubelet-fleet.ts, pod-completions.ts). */
export type { PodBehaviour } from './pod-completions.ts';

/** Where a behaviour's container prints (the pod log book, read back by `kubectl logs`). */
export interface ContainerOutput {
  print(pod: KubeObject, container: string, text: string): void;
  end(pod: KubeObject, container: string): void;
}

export interface PodBehaviourRegistry {
  addPodBehaviour(fn: PodBehaviourFactory): void;
}

export type UpgradeState = 'upgrading' | 'succeeded' | 'failed';

export interface UpgradeResult {
  node: string;
  fromVersion: string;
  targetVersion: string;
  state: UpgradeState;
  message: string;
  startedAt: string;
  finishedAt?: string;
}

/** Why an upgrade request was refused before anything happened; `code` is the HTTP status to answer with. */
export class UpgradeRefusedError extends Error {
  constructor(
    readonly code: 400 | 404 | 409 | 422,
    message: string,
    readonly node: string,
  ) {
    super(message);
    this.name = 'UpgradeRefusedError';
  }
}

interface InFlight {
  targetVersion: string;
  result: UpgradeResult;
  done: Promise<UpgradeResult>;
  /** Clock ms when a worker's reboot is due to end; unknown for a control-plane member. */
  dueAt?: number;
}

/**
 * The sandbox's stand-in for what really upgrades a node (ssh + kubeadm, a cloud node-pool API, a
 * system-upgrade-controller Job): it checks the request against the version skew policy, consumes
 * injected upgrade failures, and reboots the node into the new kubelet.
 *
 * Idempotent: one upgrade at a time per node; asking again for the same version joins the one in flight,
 * and asking for the version the node already runs succeeds at once.
 */
export class NodeUpgrader {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly last = new Map<string, UpgradeResult>();
  /**
   * The versions each node ran before its successful upgrades here, oldest first: a rollback undoes the
   * last one (to the version at the end), and the next rollback the one before it, one minor at a time as
   * they were made.
   */
  private readonly previousVersions = new Map<string, string[]>();

  constructor(
    private readonly ctx: SandboxContext,
    private readonly deps: {
      rebooter: NodeRebooter;
      controlPlane: ControlPlane;
      /** A scenario's `allowKubeletMinorSkip`: a kubelet may jump more than one minor. Default false. */
      allowKubeletMinorSkip?: boolean;
    },
  ) {}

  /**
   * Starts (or joins) the upgrade of `name` to `targetVersion` and resolves when it is over: `state`
   * succeeded or failed with a message. Requests that break the rules throw `UpgradeRefusedError`.
   */
  upgradeNode(name: string, targetVersion: string): Promise<UpgradeResult> {
    const running = this.inFlight.get(name);
    if (running) {
      if (running.targetVersion === targetVersion) return running.done;
      throw new UpgradeRefusedError(
        409,
        `node ${name} is already being upgraded to ${running.targetVersion}; wait for it before asking for ${targetVersion}`,
        name,
      );
    }
    const node = this.ctx.store.get(R.nodes, undefined, name);
    if (!node) throw new UpgradeRefusedError(404, `node ${name} not found`, name);
    const from: string = node.status?.nodeInfo?.kubeletVersion ?? '';
    this.checkRequest(node, from, targetVersion);
    const result: UpgradeResult = {
      node: name,
      fromVersion: from,
      targetVersion,
      state: 'upgrading',
      message: `upgrading ${name} from ${from} to ${targetVersion}`,
      startedAt: rfc3339(this.ctx.clock.now()),
    };
    const done = this.run(node, result).then((final) => {
      this.inFlight.delete(name);
      this.last.set(name, final);
      if (final.state === 'succeeded' && final.fromVersion !== final.targetVersion) {
        const history = this.previousVersions.get(name) ?? [];
        const from = tryParseVersion(final.fromVersion);
        const to = tryParseVersion(final.targetVersion);
        if (from && to && compareVersions(to, from) < 0) history.pop();
        else history.push(final.fromVersion);
        this.previousVersions.set(name, history);
      }
      return final;
    });
    const dueAt = this.isControlPlane(node) ? undefined : this.ctx.clock.now() + this.rebootMs(name);
    this.inFlight.set(name, { targetVersion, result, done, dueAt });
    return done;
  }

  /** A worker's reboot for an upgrade: timing.nodeUpgradeMs, with the scenario's spread for this node. */
  private rebootMs(name: string): number {
    return spreadMs(this.ctx.timing.nodeUpgradeMs, this.ctx.timing.spread, 'nodeUpgrade', name);
  }

  /**
   * Whole seconds of clock before an upgrade in flight is worth asking about again (at least 1), as a cloud
   * API's Retry-After: a worker's reboot is not over before its downtime has passed. Rounded up, so a poller
   * that waits this long never looks later than one polling every second would have seen the end. Undefined
   * when nothing is in flight or when its end is not known (a control-plane member).
   */
  retryAfterSeconds(name: string): number | undefined {
    const dueAt = this.inFlight.get(name)?.dueAt;
    if (dueAt === undefined) return undefined;
    return Math.max(1, Math.ceil((dueAt - this.ctx.clock.now()) / 1000));
  }

  /** The upgrade in flight for a node, or the last one finished; undefined when none was asked for. */
  status(name: string): UpgradeResult | undefined {
    const running = this.inFlight.get(name);
    return running ? { ...running.result } : this.last.get(name);
  }

  /**
   * Registers the Job way of upgrading, as system-upgrade-controller does it: a Job pod pinned to a node
   * (spec.nodeName) and annotated `upgrade.midflight.dev/target-version: vX.Y.Z` upgrades that node and
   * exits 0, or 1 with the failure as its message.
   * Note: the node reboots under its own upgrade pod; run() resolves only once the node is back, so the
   * pod completes (Succeeded) after the reboot, as the real Jobs do. What the Job's container prints (the
   * upgrade it starts, then how it ended) goes to `output`, so the job provider and `kubectl logs` can read it.
   */
  registerJobBehaviour(registry: PodBehaviourRegistry, output?: ContainerOutput): void {
    registry.addPodBehaviour((pod) => {
      const target = pod.metadata.annotations?.[UPGRADE_TARGET_ANNOTATION];
      const node: string | undefined = pod.spec?.nodeName;
      const ownedByJob = pod.metadata.ownerReferences?.some((o) => o.kind === 'Job') ?? false;
      if (!target || !node || !ownedByJob) return undefined;
      const container: string = pod.spec?.containers?.[0]?.name ?? 'upgrade';
      const print = (text: string) => output?.print(pod, container, text);
      return {
        run: async () => {
          print(`upgrading node ${node} to ${target}`);
          let outcome: { exitCode: number; message: string };
          try {
            const result = await this.upgradeNode(node, target);
            outcome = { exitCode: result.state === 'succeeded' ? 0 : 1, message: result.message };
          } catch (err) {
            outcome = { exitCode: 1, message: (err as Error).message };
          }
          print(outcome.message);
          if (outcome.exitCode !== 0) print(`exit status ${outcome.exitCode}`);
          output?.end(pod, container);
          return outcome;
        },
      };
    });
  }

  /**
   * The rules kubeadm and the version skew policy set, in the order they are checked:
   * - a version going down is a rollback, allowed only to the version the node ran before its last upgrade
   *   here (what `midflight rollback` asks for) and never, for a control-plane member, below its minor;
   *   kubeadm has no other way down;
   * - a worker's kubelet is never newer than the API server, and stays within three minors of it;
   * - a kubelet moves up one minor at a time (kubeadm does not skip minors), unless the scenario sets
   *   `allowKubeletMinorSkip`;
   * - a control-plane member is at most one minor ahead of the API server.
   */
  private checkRequest(node: KubeObject, from: string, target: string): void {
    const name = node.metadata.name!;
    const t = parseReleaseVersion(target);
    if (!t)
      throw new UpgradeRefusedError(
        400,
        `expected a version like "v1.31.4", got ${JSON.stringify(target)}`,
        name,
      );
    const apiserver = this.deps.controlPlane.apiServerVersion();
    const isControlPlane = node.metadata.labels?.[CONTROL_PLANE_LABEL] !== undefined;
    const a = parseVersion(apiserver);
    const f = tryParseVersion(from);
    if (f && compareVersions(t, f) < 0) {
      if (isControlPlane && (t.major !== f.major || t.minor < f.minor))
        throw new UpgradeRefusedError(
          422,
          `refusing to downgrade control-plane node ${name} from ${from} to ${target}: a control-plane minor version cannot be downgraded in place; restore the etcd snapshot taken before the upgrade instead`,
          name,
        );
      const previous = this.previousVersions.get(name)?.at(-1);
      if (previous !== target)
        throw new UpgradeRefusedError(
          422,
          `refusing to downgrade node ${name} from ${from} to ${target}: kubeadm does not downgrade; a node goes back only as a rollback, to the version it ran before its last upgrade (${previous ? previous : `none: ${name} was not upgraded here`})`,
          name,
        );
      if (!isControlPlane && (t.major !== a.major || a.minor - t.minor > 3))
        throw new UpgradeRefusedError(
          422,
          `refusing to downgrade node ${name} from ${from} to ${target}: a kubelet may be at most three minor versions older than the API server (${apiserver})`,
          name,
        );
    }
    if (!isControlPlane && compareVersions(t, a) > 0)
      throw new UpgradeRefusedError(
        422,
        `refusing to upgrade node ${name} to ${target}: the kubelet must not be newer than the API server (${apiserver}); upgrade the control plane first`,
        name,
      );
    if (f && !this.deps.allowKubeletMinorSkip && (t.major !== f.major || t.minor > f.minor + 1))
      throw new UpgradeRefusedError(
        422,
        `refusing to upgrade node ${name} from ${from} to ${target} in place: kubeadm moves a kubelet one minor version at a time; upgrade it to v${f.major}.${f.minor + 1} first (a scenario may allow the jump with allowKubeletMinorSkip: true)`,
        name,
      );
    if (isControlPlane) {
      if (t.major !== a.major || t.minor > a.minor + 1)
        throw new UpgradeRefusedError(
          422,
          `refusing to upgrade control-plane node ${name} to ${target}: the control plane is at ${apiserver} and can move one minor version at a time`,
          name,
        );
    }
  }

  private async run(node: KubeObject, result: UpgradeResult): Promise<UpgradeResult> {
    const name = node.metadata.name!;
    const finish = (state: UpgradeState, message: string): UpgradeResult => {
      Object.assign(result, { state, message, finishedAt: rfc3339(this.ctx.clock.now()) });
      return { ...result };
    };
    // Note: an async boundary first, so callers always get the in-flight entry registered before work starts.
    await Promise.resolve();
    if (result.fromVersion === result.targetVersion && this.componentsAt(name, result.targetVersion))
      return finish('succeeded', `node ${name} already runs ${result.targetVersion}`);
    const failure = this.takeInjectedFailure(name);
    if (failure) return finish('failed', failure);
    const comesBack = !this.ctx.faults.nodesNeverReadyAfterUpgrade.has(name);
    try {
      if (this.isControlPlane(node)) {
        await this.deps.controlPlane.upgradeMember(name, result.targetVersion, { comesBack });
      } else {
        await this.deps.rebooter.restartNode(name, {
          kubeletVersion: result.targetVersion,
          downtimeMs: this.rebootMs(name),
          comesBack,
        });
      }
    } catch (err) {
      return finish(
        'failed',
        `upgrade of node ${name} to ${result.targetVersion} failed: ${(err as Error).message}`,
      );
    }
    if (!comesBack)
      return finish(
        'failed',
        `node ${name} did not come back after rebooting into ${result.targetVersion} (kubelet not posting status)`,
      );
    return finish('succeeded', `node ${name} upgraded from ${result.fromVersion} to ${result.targetVersion}`);
  }

  /** Whether a node's control-plane components (if it has any) already run `version`. */
  private componentsAt(name: string, version: string): boolean {
    const member = this.deps.controlPlane.memberVersions().find((m) => m.node === name);
    if (!member) return true;
    return ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].every(
      (c) => member.components[c as 'kube-apiserver']?.version === version,
    );
  }

  private isControlPlane(node: KubeObject): boolean {
    return node.metadata.labels?.[CONTROL_PLANE_LABEL] !== undefined;
  }

  /** Consumes one injected failure for the node (its own count first, then "*"), with the message to report. */
  private takeInjectedFailure(name: string): string | undefined {
    const failures = this.ctx.faults.upgradeFailures;
    for (const key of [name, '*']) {
      const left = failures.get(key) ?? 0;
      if (left <= 0) continue;
      failures.set(key, left - 1);
      return `upgrade of node ${name} failed: kubeadm upgrade node exited with status 1 (injected fault; ${left - 1} more failure(s) pending for "${key}")`;
    }
    return undefined;
  }
}
