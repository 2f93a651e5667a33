import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { RawResponse } from '../../kube/index.ts';
import { listScenarios, loadScenario } from '../../sandbox/scenario/load-scenario.ts';
import type { Scenario } from '../../sandbox/scenario/scenario-types.ts';
import { CliError, UsageError } from '../errors.ts';
import { parseOutputFormat, renderData, renderTable } from '../output.ts';
import { parsePort, parsePositiveNumber } from '../parse.ts';

export const DEFAULT_SANDBOX_KUBECONFIG = join(homedir(), '.midflight', 'sandbox.kubeconfig');

// Note: the sandbox and client-node are imported inside the actions that use them, so that `--help`,
// `sandbox scenarios` and usage errors answer at once instead of after loading the whole simulator.
export function registerSandboxCommands(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description(
      'run the sandbox cluster: a Kubernetes API server with simulated kubelets, scheduler, controllers, ' +
        'traffic and faults, which kubectl and Midflight talk to exactly as to a real cluster',
    );

  sandbox
    .command('start')
    .description('start a sandbox cluster in the foreground; Ctrl-C stops it')
    .option('-s, --scenario <name|file>', 'built-in scenario name or a scenario YAML file', 'demo')
    .option('--host <address>', 'address to listen on (loopback unless you say otherwise)', '127.0.0.1')
    .option('-p, --port <n>', 'port to listen on (0 picks a free one)', parsePort, 0)
    .option(
      '--kubeconfig-out <file>',
      'where to write the kubeconfig for kubectl',
      DEFAULT_SANDBOX_KUBECONFIG,
    )
    .option('--time-scale <x>', 'run simulated time x times faster than wall time', parsePositiveNumber, 1)
    .option(
      '--etcd <url>',
      "keep the cluster's objects in this etcd (http(s)://HOST:PORT) under kube-apiserver's /registry keys: " +
        'an empty etcd gets the scenario, one holding a sandbox cluster (a restored backup) is loaded as it is',
    )
    .option(
      '--insecure',
      'serve plain HTTP with no token (default: HTTPS with a self-signed certificate and a random bearer token, ' +
        'both kept in the kubeconfig; kubectl never sends a token over plain HTTP)',
      false,
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  midflight sandbox start                      # the demo cluster, kubeconfig in ~/.midflight/\n' +
        '  midflight sandbox start -s large --time-scale 60\n' +
        '  midflight sandbox start --etcd http://127.0.0.1:2379   # objects kept in etcd (docs/backup.md)\n' +
        '  kubectl --kubeconfig ~/.midflight/sandbox.kubeconfig get nodes\n',
    )
    .action(async (opts) => {
      let scenario: Scenario;
      try {
        scenario = loadScenario(opts.scenario);
      } catch (err) {
        // An unknown name, a missing file or an invalid scenario is bad input: exit 2, with the loader's
        // message (it names the built-ins, or every problem with its file:line:column).
        throw new UsageError((err as Error).message);
      }
      if (opts.etcd !== undefined && !/^https?:\/\/[^/]+/.test(opts.etcd))
        throw new UsageError(`--etcd "${opts.etcd}" is not an etcd client URL like http://127.0.0.1:2379`);
      const { Sandbox } = await import('../../sandbox/sandbox.ts');
      let box: Awaited<ReturnType<typeof Sandbox.start>>;
      try {
        box = await Sandbox.start({
          scenario,
          host: opts.host,
          port: opts.port,
          tls: !opts.insecure,
          token: opts.insecure ? undefined : randomBytes(24).toString('base64url'),
          timeScale: opts.timeScale,
          ...(opts.etcd ? { etcd: { endpoint: opts.etcd } } : {}),
        });
      } catch (err) {
        if (!opts.etcd) throw err;
        throw new CliError(`cannot start the sandbox on etcd ${opts.etcd}: ${(err as Error).message}`);
      }
      // The sandbox cannot keep writes once its etcd fails: stop at once and say why, rather than serve on.
      const storageFailed = new Promise<Error>((resolve) => box.onStorageFailure(resolve));
      const kubeconfigPath = resolve(opts.kubeconfigOut);
      mkdirSync(dirname(kubeconfigPath), { recursive: true });
      // The kubeconfig holds the token: readable by its owner only.
      writeFileSync(kubeconfigPath, box.kubeconfig(), { mode: 0o600 });
      const out = process.stdout;
      out.write(
        `Sandbox cluster "${box.scenarioName}" (Kubernetes ${box.kubernetesVersion}) is serving at ${box.url}\n`,
      );
      const { storage } = box;
      if (storage.etcd)
        out.write(
          `Objects kept in etcd ${storage.etcd}: ${storage.objects} ${storage.loaded ? 'loaded from it' : 'written to it'} at revision ${storage.revision}\n`,
        );
      out.write(`Kubeconfig: ${kubeconfigPath}\n\n`);
      out.write(
        `Try:\n  export KUBECONFIG=${kubeconfigPath}\n  kubectl get nodes\n  kubectl get pods -A -o wide\n`,
      );
      const node = box.workerBehindControlPlane() ?? box.firstWorkerName() ?? 'NODE';
      out.write(`  kubectl drain ${node} --ignore-daemonsets --delete-emptydir-data\n`);
      out.write(`  npx midflight sandbox upgrade-node ${node} --to ${box.kubernetesVersion}\n`);
      out.write(`  kubectl uncordon ${node}\n\n`);
      out.write('Press Ctrl-C to stop.\n');
      const failure = await Promise.race([waitForSignal().then(() => undefined), storageFailed]);
      out.write('Stopping the sandbox…\n');
      try {
        await box.stop();
      } catch (err) {
        if (!failure)
          throw new CliError(`the sandbox's etcd did not take every write: ${(err as Error).message}`);
      }
      if (failure)
        throw new CliError(`the sandbox's etcd failed, so the sandbox stopped: ${failure.message}`);
    });

  sandbox
    .command('scenarios')
    .description('list the built-in scenarios')
    .addOption(new Option('-o, --output <format>', 'table, json or yaml').default('table'))
    .action((opts) => {
      const format = parseOutputFormat(opts.output);
      const scenarios = listScenarios();
      if (format === 'table') {
        process.stdout.write(
          renderTable(
            ['NAME', 'DESCRIPTION'],
            scenarios.map((s) => [s.name, s.description]),
          ),
        );
      } else {
        process.stdout.write(renderData(scenarios, format as 'json' | 'yaml'));
      }
    });

  sandbox
    .command('upgrade-node')
    .description(
      "upgrade one sandbox node's kubelet (or control-plane member) to a version and wait until it is done: " +
        'the sandbox stand-in for `ssh NODE kubeadm upgrade node` or a cloud node-pool upgrade',
    )
    .argument('<node>', 'node name')
    .requiredOption('--to <version>', 'target Kubernetes version, e.g. v1.31.2')
    .option('--timeout <seconds>', 'give up after this many seconds of wall time', parsePositiveNumber, 600)
    .action(async (node: string, opts, cmd: Command) => {
      const { loadKubeConfig, requestRaw } = await import('../../kube/index.ts');
      const kc = loadKubeConfig(cmd.optsWithGlobals(), DEFAULT_SANDBOX_KUBECONFIG);
      if (!/^v?\d+\.\d+\.\d+$/.test(opts.to))
        throw new UsageError(`--to "${opts.to}" is not a version like v1.31.2`);
      const version = opts.to.startsWith('v') ? opts.to : `v${opts.to}`;
      const path = `/sandbox/v1/nodes/${encodeURIComponent(node)}/upgrade?wait=true`;
      let res: RawResponse;
      try {
        res = await requestRaw(kc, 'POST', path, { body: { version }, timeoutMs: opts.timeout * 1000 });
      } catch (err) {
        throw new CliError(
          `cannot reach the sandbox at ${kc.getCurrentCluster()?.server}: ${(err as Error).message}`,
        );
      }
      if (res.status >= 300) {
        let reason = res.body.trim();
        try {
          const parsed = JSON.parse(res.body) as { error?: string; message?: string };
          reason = parsed.error ?? parsed.message ?? reason;
        } catch {}
        // 4xx: the sandbox refused before touching the node (skew policy, unknown node, another version in
        // flight); 5xx: the upgrade ran and failed.
        const what = res.status < 500 ? 'the sandbox refused to upgrade' : 'the upgrade failed for';
        throw new CliError(`${what} node ${node} to ${version}: ${reason || `HTTP ${res.status}`}`);
      }
      process.stdout.write(`node/${node} upgraded to ${version}\n`);
    });
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
