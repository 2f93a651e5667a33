import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { buildAlertRules, buildDashboards } from '../../telemetry/index.ts';
import { CliError, UsageError } from '../errors.ts';

/** The runbooks shipped with midflight (docs/gates.md), wherever it is installed. */
const BUNDLED_RUNBOOKS = new URL('../../../docs/gates.md', import.meta.url).href;

export const RULES_FILE = 'midflight-rules.yaml';

export function registerObservabilityCommands(program: Command): void {
  const observability = program
    .command('observability')
    .description("what a run's observers need: Grafana dashboards and Prometheus alerting rules");
  observability
    .command('export')
    .description(
      'write three Grafana dashboards (executive, on-call, debug; JSON for Grafana 10.3 and later) and a ' +
        'Prometheus rules file (page and ticket alerts, each with a runbook link, labelled with the run id) ' +
        'into a directory',
    )
    .requiredOption(
      '--out <dir>',
      'directory to write into (created if missing; files of the same names are replaced)',
    )
    .option(
      '--critical-services <regex>',
      'the services (their `service` label) whose 5xx rate pages at 3× its level of the hour before',
      '.+',
    )
    .option('--apiserver-job <name>', 'the Prometheus job that scrapes the API servers', 'apiserver')
    .option(
      '--runbook-base <url>',
      'where the runbooks are: each alert links to URL#runbook-<alert> (default: the docs installed with midflight)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  midflight observability export --out ./observability\n' +
        '  promtool check rules ./observability/midflight-rules.yaml\n' +
        '  midflight observability export --out ./o --critical-services "checkout|payments" \\\n' +
        '      --runbook-base https://wiki.example/upgrades/midflight\n',
    )
    .action((opts: { out: string; criticalServices: string; apiserverJob: string; runbookBase?: string }) => {
      const criticalServices = promqlString('--critical-services', opts.criticalServices, true);
      const apiserverJob = promqlString('--apiserver-job', opts.apiserverJob, false);
      const files: Record<string, string> = {};
      for (const [name, dashboard] of Object.entries(buildDashboards()))
        files[name] = `${JSON.stringify(dashboard, null, 2)}\n`;
      const rules = buildAlertRules({
        runbookBase: opts.runbookBase ?? BUNDLED_RUNBOOKS,
        criticalServices,
        apiserverJob,
      });
      files[RULES_FILE] =
        '# Prometheus rules for Midflight runs, written by `midflight observability export`.\n' +
        '# Load with rule_files; check with `promtool check rules`. Route on severity (page, ticket) and\n' +
        '# group by run_id in Alertmanager.\n' +
        stringify(rules, { lineWidth: 0 });
      try {
        mkdirSync(opts.out, { recursive: true });
        for (const [name, text] of Object.entries(files)) writeFileSync(join(opts.out, name), text);
      } catch (err) {
        throw new CliError(`cannot write into ${opts.out}: ${(err as Error).message}`);
      }
      for (const name of Object.keys(files)) process.stdout.write(`${join(opts.out, name)}\n`);
    });
}

/** A flag's value inside a PromQL double-quoted string; a regular expression must compile. */
function promqlString(flag: string, value: string, regex: boolean): string {
  if (value === '') throw new UsageError(`${flag}: must not be empty`);
  if (regex)
    try {
      new RegExp(value);
    } catch (err) {
      throw new UsageError(`${flag} "${value}": not a regular expression: ${(err as Error).message}`);
    }
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}
