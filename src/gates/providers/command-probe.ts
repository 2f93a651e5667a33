/**
 * The `command` provider: a /bin/sh script run through the one way midflight runs commands (its own process
 * group, SIGTERM then SIGKILL at its deadline). Its standard output holds the number (its last line), or
 * JSON with the number in `field`; a non-zero exit is a failed measurement, with its stderr's last lines.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runLoggedCommand, shellQuote } from '../../providers/index.ts';
import { numberFromText } from '../measurement.ts';

export interface CommandProbeOptions {
  script: string;
  field?: string;
  timeoutMs: number;
  /** A folder for this gate's files: stdout goes to one, stderr to another (appended, one run after another). */
  dir: string;
  env: NodeJS.ProcessEnv;
}

export async function measureCommand(options: CommandProbeOptions): Promise<number> {
  const stdoutFile = join(options.dir, 'stdout');
  // Note: runCommand sends stdout and stderr to one file; the number is read from stdout alone.
  const result = await runLoggedCommand({
    script: `{\n${options.script}\n} > ${shellQuote(stdoutFile)}`,
    env: options.env,
    timeoutMs: options.timeoutMs,
    killGraceMs: 2_000,
    outputFile: join(options.dir, 'stderr'),
    log: () => {},
    tailLines: 5,
  });
  if (result.failure) throw new Error(`the command ${result.failure}`);
  return numberFromText(await readFile(stdoutFile, 'utf8'), options.field, "the command's output");
}
