/**
 * `midflight demo`: the whole product on a live cluster in a few minutes, with no questions asked (it is
 * a sandbox). Starts the demo sandbox, reads and checks it, plans the upgrade and applies it with the
 * command provider, exactly as `apply` drives a real cluster, then prints the summary and the sandbox's
 * record of disruption-budget violations (it should be empty).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { formatDuration } from '../../core/duration.ts';
import { buildInventory } from '../../core/inventory.ts';
import { formatVersion, parseVersion, resolveTargetVersion } from '../../core/versions.ts';
import { startRun } from '../../engine/index.ts';
import { requestRaw } from '../../kube/client.ts';
import { readSnapshot } from '../../kube/snapshot.ts';
import { type Policy, planUpgrade, renderPlanTable, validatePolicy } from '../../plan/index.ts';
import { runPreflight } from '../../preflight/index.ts';
import { CommandProvider } from '../../providers/index.ts';
import { RunStore } from '../../store/index.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { parseOutputFormat } from '../output.ts';
import { parsePositiveNumber } from '../parse.ts';
import { executeWithView, finishRun, RUN_OUTPUT_FORMATS } from '../run-session.ts';
import { renderInventoryTable } from './inventory.ts';
import { renderPreflightTable } from './preflight.ts';
import { DEFAULT_SANDBOX_KUBECONFIG } from './sandbox.ts';

const DEMO_STATE = join(homedir(), '.midflight', 'demo-state.db');
const MIDFLIGHT_BIN = fileURLToPath(new URL('../../../bin/midflight.js', import.meta.url));

/**
 * What a careful team would write for this cluster: a one-node canary that soaks, drains that may delete
 * emptyDir data and the demo's one bare pod (as `kubectl drain --force --delete-emptydir-data`), and the
 * sandbox's stand-in for `ssh NODE kubeadm upgrade node` as the provider.
 */
function demoPolicy(): Policy {
  const result = validatePolicy(
    {
      canary: { nodes: 1, soak: '2m' },
      drain: { timeout: '10m', force: true, deleteEmptyDirData: true, onTimeout: 'halt' },
      timings: { batchSoak: '30s' },
      provider: {
        kind: 'command',
        command: `${process.execPath} ${MIDFLIGHT_BIN} sandbox upgrade-node {node} --to {version} --kubeconfig {kubeconfig}`,
        timeout: '20m',
      },
    },
    'demo policy',
  );
  if (!result.ok) throw new Error(`the demo policy is invalid: ${JSON.stringify(result.errors)}`);
  return result.policy;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'start the demo sandbox cluster, show its inventory, preflight and plan, then upgrade it live: control ' +
        'plane one member at a time, a canary, the node pools in budget-safe batches, the add-ons',
    )
    .option('--to <version>', 'target version (default: the next minor, latest known patch)')
    .option(
      '--time-scale <x>',
      'simulated time runs x times faster than wall time (soaks and node reboots take seconds)',
      parsePositiveNumber,
      30,
    )
    .option('--keep', 'leave the sandbox running at the end, to explore it with kubectl', false)
    .option(
      '--kubeconfig-out <file>',
      'where to write the kubeconfig for kubectl',
      DEFAULT_SANDBOX_KUBECONFIG,
    )
    .option('-o, --output <format>', 'table (live progress) or json (one event per line)', 'table')
    .option(
      '--state <file>',
      'run state store of the demo (`midflight history --state FILE` lists it)',
      DEMO_STATE,
    )
    .addHelpText(
      'after',
      '\nWhile it runs, watch it from another terminal:\n' +
        '  kubectl --kubeconfig ~/.midflight/sandbox.kubeconfig get nodes -w\n',
    )
    .action(async (opts) => {
      const output = parseOutputFormat(opts.output, RUN_OUTPUT_FORMATS);
      const { loadScenario } = await import('../../sandbox/scenario/load-scenario.ts');
      const { Sandbox } = await import('../../sandbox/sandbox.ts');
      const scenario = loadScenario('demo');
      const from = parseVersion(scenario.kubernetesVersion);
      let target: string;
      try {
        target = formatVersion(resolveTargetVersion(opts.to ?? `${from.major}.${from.minor + 1}`));
      } catch {
        throw new UsageError(`--to "${opts.to}" is not a Kubernetes version like v1.31.2 or 1.31`);
      }
      // With -o json, stdout carries only the run's events; everything for a person goes to stderr.
      const say = (text: string) => (output === 'json' ? process.stderr : process.stdout).write(text);

      const wallStart = performance.now();
      const box = await Sandbox.start({
        scenario,
        tls: true,
        token: randomBytes(24).toString('base64url'),
        timeScale: opts.timeScale,
      });
      const kubeconfigPath = resolve(opts.kubeconfigOut);
      let store: RunStore | undefined;
      try {
        mkdirSync(dirname(kubeconfigPath), { recursive: true });
        writeFileSync(kubeconfigPath, box.kubeconfig(), { mode: 0o600 });
        say(
          `Sandbox cluster "${box.scenarioName}" (Kubernetes ${box.kubernetesVersion}) at ${box.url}, ` +
            `time ×${opts.timeScale}\nWatch it live:  kubectl --kubeconfig ${kubeconfigPath} get nodes -w\n\n`,
        );
        await box.waitUntilSettled();
        const kc = new KubeConfig();
        kc.loadFromString(box.kubeconfig());
        const clock = box.ctx.clock;

        const snapshot = await readSnapshot(kc, { clock });
        say(`== Inventory\n\n${renderInventoryTable(buildInventory(snapshot))}\n`);
        const policy = demoPolicy();
        const report = runPreflight(snapshot, parseVersion(target), policy, clock.now());
        say(
          `== Preflight\n\n${renderPreflightTable(report, { cluster: box.url, source: box.kubernetesVersion, target })}\n`,
        );
        const plan = planUpgrade(snapshot, parseVersion(target), policy);
        say(`== Plan\n\n${renderPlanTable(plan)}\n== Apply\n\n`);

        store = RunStore.open(resolve(opts.state), { clock });
        const provider = new CommandProvider({
          command: policy.provider.command as string,
          kubeconfigPath,
          timeoutMs: 20 * 60_000,
        });
        const summary = await executeWithView(
          { kc, store, provider, clock, kubeconfigPath },
          { output, clock, plan },
          (deps, signal) =>
            startRun(deps, plan, {
              signal,
              // Clock time runs ×timeScale: a lease of 30 clock seconds would be a second of wall time.
              leaseDurationSeconds: Math.max(30, 15 * opts.timeScale),
              pollIntervalMs: 1_000,
            }),
        );
        const code = finishRun(summary, output);
        say(
          `\nTimes above are the sandbox's clock, which runs ×${opts.timeScale}: ` +
            `${formatDuration(performance.now() - wallStart)} of wall time in all.\n`,
        );
        const violations = await budgetViolations(kc);
        say(
          violations === 0
            ? '\nDisruption budgets: never broken (the sandbox recorded no violation).\n'
            : `\nDisruption budgets: ${violations} violation(s) recorded: see ${box.url}/sandbox/v1/violations\n`,
        );
        if (opts.keep) {
          say(
            `\nThe sandbox keeps running at ${box.url}.\n  export KUBECONFIG=${kubeconfigPath}\n` +
              '  kubectl get nodes\nPress Ctrl-C to stop it.\n',
          );
          await waitForSignal();
        }
        if (code !== 0) throw new ExitCode(code);
      } finally {
        store?.close();
        await box.stop();
      }
    });
}

async function budgetViolations(kc: KubeConfig): Promise<number> {
  const res = await requestRaw(kc, 'GET', '/sandbox/v1/violations');
  return (JSON.parse(res.body) as { items: unknown[] }).items.length;
}

function waitForSignal(): Promise<void> {
  return new Promise((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
}
