/**
 * `midflight demo`: the whole product on a live cluster in a few minutes, with no questions asked (it is
 * a sandbox). Starts the demo sandbox, reads and checks it, plans the upgrade and applies it with the
 * policy in examples/policies/ (demo-prometheus.yaml when Prometheus is installed: the demo starts one
 * scraping the sandbox for its health gates; demo.yaml, with kube-native gates, otherwise), exactly as
 * `apply` drives a real cluster, then prints the summary and the sandbox's record of disruption-budget
 * violations (it should be empty). The run is recorded in the state store `history` and `status` read.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { type Command, Option } from 'commander';
import {
  buildInventory,
  formatDuration,
  formatVersion,
  parseVersion,
  resolveTargetVersion,
} from '../../core/index.ts';
import { startRun } from '../../engine/index.ts';
import { readSnapshot, requestRaw } from '../../kube/index.ts';
import {
  PROMETHEUS_BINARY,
  type PrometheusProcess,
  scrapeTargetOf,
  startPrometheus,
} from '../../observe/index.ts';
import { defaultPolicy, type Policy, planUpgrade, renderPlanTable } from '../../plan/index.ts';
import { type PreflightReport, runPreflight, subjectText } from '../../preflight/index.ts';
import { providerFromPolicy } from '../../providers/index.ts';
import type { RunStore } from '../../store/index.ts';
import { withSurgePool } from '../demo-surge.ts';
import { CliError, ExitCode, UsageError } from '../errors.ts';
import { planOptionsFor } from '../measured-history.ts';
import { parseOutputFormat } from '../output.ts';
import { parsePositiveNumber } from '../parse.ts';
import { metricsAddressOf, metricsOptions } from '../run-metrics-endpoint.ts';
import {
  executeWithView,
  finishRun,
  gatesOf,
  nodeProviderFor,
  openStore,
  RUN_OUTPUT_FORMATS,
  stateOption,
} from '../run-session.ts';
import { providerProblem, readPolicyFile } from '../upgrade-inputs.ts';
import { renderInventoryTable } from './inventory.ts';
import { renderPreflightTable } from './preflight.ts';
import { DEFAULT_SANDBOX_KUBECONFIG } from './sandbox.ts';

/** The checkout (or installed package) this midflight runs from. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/**
 * What a careful team would write for the demo cluster, kept as an example a user can read and reuse:
 * a one-node canary that soaks, drains that may delete emptyDir data and the demo's one bare pod, and
 * `midflight sandbox upgrade-node` (the sandbox's stand-in for `ssh NODE kubeadm upgrade node`) as the
 * provider.
 */
export const DEMO_POLICY = resolve(PACKAGE_ROOT, 'examples', 'policies', 'demo.yaml');
/** The same policy with gates that read the cluster's SLIs from Prometheus: the demo's when one is installed. */
export const DEMO_PROMETHEUS_POLICY = resolve(PACKAGE_ROOT, 'examples', 'policies', 'demo-prometheus.yaml');

/** A path as a person in `cwd` would type it: relative when it is below cwd. */
function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * The settings of `policy` that let a drain do what the default policy refuses; the preflight checks that
 * would otherwise report blockers (unmanaged-pod, local-storage) read them, and `preflight.skip` drops
 * checks altogether.
 */
export function policyAllowances(policy: Policy): string[] {
  const defaults = defaultPolicy();
  const allowed: string[] = [];
  if (policy.drain.force && !defaults.drain.force) allowed.push('drain.force');
  if (policy.drain.deleteEmptyDirData && !defaults.drain.deleteEmptyDirData)
    allowed.push('drain.deleteEmptyDirData');
  for (const id of policy.preflight.skip) allowed.push(`preflight.skip: ${id}`);
  return allowed;
}

/**
 * Why the demo's preflight and `midflight preflight --to X` (the default policy) disagree on the same
 * cluster: the blockers only the default policy reports, and the settings of the demo's policy that allow
 * them. Empty when they agree.
 */
export function explainBlockerDifference(input: {
  policyPath: string;
  policy: Policy;
  withPolicy: PreflightReport;
  withDefaults: PreflightReport;
  target: string;
}): string {
  const key = (f: PreflightReport['findings'][number]) => `${f.id}|${subjectText(f.subject)}`;
  const blocking = new Set(input.withPolicy.findings.filter((f) => f.severity === 'blocker').map(key));
  const onlyDefault = input.withDefaults.findings.filter(
    (f) => f.severity === 'blocker' && !blocking.has(key(f)),
  );
  if (onlyDefault.length === 0) return '';
  const allowances = policyAllowances(input.policy);
  const n = onlyDefault.length;
  const lines = [
    `${input.withPolicy.counts.blocker} blockers with ${input.policyPath}` +
      (allowances.length > 0 ? ` (${allowances.join(', ')})` : '') +
      `; the default policy would block on ${n}:`,
    ...onlyDefault.map((f) => `  [${f.id}] ${subjectText(f.subject)}`),
    `so \`midflight preflight --to ${input.target}\` without --policy reports ${n === 1 ? 'it' : 'them'} and exits 1.`,
  ];
  return `${lines.join('\n')}\n`;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'start the demo sandbox cluster, show its inventory, preflight and plan, then upgrade it live: control ' +
        'plane one member at a time, a canary, the node pools flowing as their budgets allow, the add-ons',
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
      '--surge',
      'replace the general pool with new nodes (strategy surge: new nodes first, old ones drained and deleted) instead of upgrading it in place',
      false,
    )
    .option(
      '--kubeconfig-out <file>',
      'where to write the kubeconfig for kubectl',
      DEFAULT_SANDBOX_KUBECONFIG,
    )
    .option('-o, --output <format>', 'table (live progress) or json (one event per line)', 'table')
    .addOption(
      new Option(
        '--policy <file>',
        'the upgrade policy the demo applies; prometheus gates in it read a Prometheus the demo starts (default: ' +
          `examples/policies/demo-prometheus.yaml when ${PROMETHEUS_BINARY} is installed, else examples/policies/demo.yaml)`,
      ),
    )
    .addOption(stateOption())
    .addOption(metricsOptions()[0])
    .addOption(metricsOptions()[1])
    .addHelpText(
      'after',
      '\nWhile it runs, watch it from another terminal:\n' +
        '  kubectl --kubeconfig ~/.midflight/sandbox.kubeconfig get nodes -w\n',
    )
    .action(async (opts) => {
      const output = parseOutputFormat(opts.output, RUN_OUTPUT_FORMATS);
      const metrics = metricsAddressOf(opts);
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

      // Read before the sandbox starts: a broken policy file is bad input (exit 2) with nothing started.
      const prometheusInstalled = existsSync(PROMETHEUS_BINARY);
      const policyFile: string = opts.policy ?? (prometheusInstalled ? DEMO_PROMETHEUS_POLICY : DEMO_POLICY);
      const policyPath = displayPath(resolve(policyFile));
      const read = readPolicyFile(policyFile);
      const policy = opts.surge ? withSurgePool(read) : read;
      const problem = providerProblem(policy);
      if (problem) throw new UsageError(`the policy ${policyPath} cannot upgrade a node: ${problem}`);
      const prometheusGates = policy.gates.filter((g) => g.provider === 'prometheus');
      if (prometheusGates.length > 0 && !prometheusInstalled)
        throw new UsageError(
          `the policy ${policyPath} has gates that read Prometheus (${prometheusGates.map((g) => g.name).join(', ')}), ` +
            `and ${PROMETHEUS_BINARY} is not installed for the demo to start one: install the Debian package ` +
            'prometheus, or run the demo with --policy examples/policies/demo.yaml (kube-native gates)',
        );

      const wallStart = performance.now();
      const box = await Sandbox.start({
        scenario,
        tls: true,
        token: randomBytes(24).toString('base64url'),
        timeScale: opts.timeScale,
      });
      const kubeconfigPath = resolve(opts.kubeconfigOut);
      let store: RunStore | undefined;
      let prometheus: Promise<PrometheusProcess> | undefined;
      // IMPORTANT: the demo's Prometheus must not outlive it. Ctrl-C while a run executes pauses the run (and
      // the code below stops Prometheus); at any other time it ends the process, whose exit stops Prometheus
      // and removes its directory (src/observe/loopback-daemon.ts): a signal's default would skip that.
      let signalsHandledElsewhere = false;
      const exitOnSignal = () => {
        if (!signalsHandledElsewhere) process.exit(130);
      };
      process.on('SIGINT', exitOnSignal);
      process.on('SIGTERM', exitOnSignal);
      try {
        if (prometheusGates.length > 0) {
          const kcForScrape = new KubeConfig();
          kcForScrape.loadFromString(box.kubeconfig());
          // Started now, ready by the time the cluster has settled and been read.
          prometheus = startPrometheus({ targets: [scrapeTargetOf(kcForScrape, 'sandbox')] });
          prometheus.catch(() => {});
        }
        mkdirSync(dirname(kubeconfigPath), { recursive: true });
        writeFileSync(kubeconfigPath, box.kubeconfig(), { mode: 0o600 });
        say(
          `Sandbox cluster "${box.scenarioName}" (Kubernetes ${box.kubernetesVersion}) at ${box.url}, ` +
            `time ×${opts.timeScale}\nWatch it live:  kubectl --kubeconfig ${kubeconfigPath} get nodes -w\n` +
            `Policy: ${policyPath} (canary, drain, provider: read it to see what the demo allows)\n\n`,
        );
        await box.waitUntilSettled();
        const kc = new KubeConfig();
        kc.loadFromString(box.kubeconfig());
        const clock = box.ctx.clock;

        const snapshot = await readSnapshot(kc, { clock });
        say(`== Inventory\n\n${renderInventoryTable(buildInventory(snapshot))}\n`);
        const targetVersion = parseVersion(target);
        const report = runPreflight(snapshot, targetVersion, policy, clock.now());
        const difference = explainBlockerDifference({
          policyPath,
          policy,
          withPolicy: report,
          withDefaults: runPreflight(snapshot, targetVersion, defaultPolicy(), clock.now()),
          target: `${targetVersion.major}.${targetVersion.minor}`,
        });
        say(
          `== Preflight\n\n${renderPreflightTable(report, { cluster: box.url, source: box.kubernetesVersion, target })}` +
            `${difference ? `\n${difference}` : ''}\n`,
        );
        const prom = await prometheus?.catch((err: unknown) => {
          throw new CliError(
            `cannot start Prometheus for the demo's gates: ${(err as Error).message}\n` +
              'run the demo with --policy examples/policies/demo.yaml for kube-native gates',
          );
        });
        // Opened before planning: the demo's earlier runs in it measured this same cluster's node timings.
        store = openStore(opts.state, { clock, create: true });
        const plan = planUpgrade(
          snapshot,
          targetVersion,
          prom ? { ...policy, prometheus: { url: prom.url } } : policy,
          planOptionsFor(snapshot, { store, policyPath: policyFile }),
        );
        say(
          `== Plan\n\n${renderPlanTable(plan)}\n${describeGates(plan.policy.gates, prom?.url, prometheusInstalled)}\n== Apply\n\n`,
        );
        // Note: the gates' baselines are rates; a rate needs two scrapes in its window, and a third is margin.
        try {
          await prom?.waitForScrapes('sandbox', 3);
        } catch (err) {
          throw new CliError(
            `${(err as Error).message}\nthe demo's gates need its scrapes; run the demo with --policy examples/policies/demo.yaml for kube-native gates`,
          );
        }

        say(`State store: ${store.path}\n`);
        // Note: the provider's commands run from this midflight's own directory, where `npx midflight` (the
        // demo policy's command) is this midflight, wherever the demo was started from.
        const { provider } = providerFromPolicy(plan.policy.provider, {
          kc,
          clock,
          kubeconfigPath,
          cwd: PACKAGE_ROOT,
        });
        signalsHandledElsewhere = true;
        const nodeProvider = nodeProviderFor(plan, { kc, kubeconfigPath });
        const summary = await executeWithView(
          { kc, store, provider, nodeProvider, clock, kubeconfigPath, gates: gatesOf(plan) },
          { output, clock, plan, metrics },
          (deps, signal) =>
            startRun(deps, plan, {
              signal,
              // Clock time runs ×timeScale: a lease of 30 clock seconds would be a second of wall time.
              leaseDurationSeconds: Math.max(30, 15 * opts.timeScale),
              pollIntervalMs: 1_000,
            }),
        );
        signalsHandledElsewhere = false;
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
        const stateFlag = opts.state ? ` --state ${opts.state}` : '';
        say(
          `\nThe run is in the state store: \`midflight history${stateFlag}\`, ` +
            `\`midflight status ${summary.runId}${stateFlag}\`.\n`,
        );
        if (opts.keep) {
          say(
            `\nThe sandbox keeps running at ${box.url}.\n  export KUBECONFIG=${kubeconfigPath}\n` +
              `  kubectl get nodes\n${prom ? `Prometheus keeps scraping it at ${prom.url}.\n` : ''}Press Ctrl-C to stop it.\n`,
          );
          signalsHandledElsewhere = true;
          await waitForSignal();
        }
        if (code !== 0) throw new ExitCode(code);
      } finally {
        store?.close();
        await prometheus?.then(
          (p) => p.stop(),
          () => {},
        );
        process.off('SIGINT', exitOnSignal);
        process.off('SIGTERM', exitOnSignal);
        await box.stop();
      }
    });
}

/**
 * Which health gates the demo's run asks, and where each kind reads from: the demo says whether it has a
 * Prometheus (one it started) or kube-native gates only.
 */
export function describeGates(
  gates: readonly { name: string; provider: string }[],
  prometheusUrl: string | undefined,
  prometheusInstalled: boolean,
): string {
  if (gates.length === 0)
    return 'Health gates: none in the policy; the kube-native gate after each wave still runs.\n';
  const byProvider = new Map<string, string[]>();
  for (const g of gates) byProvider.set(g.provider, [...(byProvider.get(g.provider) ?? []), g.name]);
  const source = (provider: string): string => {
    switch (provider) {
      case 'prometheus':
        return `prometheus at ${prometheusUrl}, started for the demo`;
      case 'kube':
        return `kube: read from the API, no Prometheus needed${
          byProvider.has('prometheus') || prometheusInstalled ? '' : `; ${PROMETHEUS_BINARY} is not installed`
        }`;
      default:
        return provider;
    }
  };
  const groups = [...byProvider].map(([provider, names]) => `${names.join(', ')} (${source(provider)})`);
  return `Health gates: ${groups.join('; ')}, asked before each node is admitted and through each soak.\n`;
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
