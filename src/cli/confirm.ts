import { createInterface } from 'node:readline/promises';
import { ExitCode, UsageError } from './errors.ts';

/**
 * Asks on the terminal before a change; without a terminal it refuses (exit 2) rather than wait for an
 * answer that cannot come, unless `yes` (--yes) was given. Anything but "yes" changes nothing (exit 1).
 */
export async function confirm(yes: boolean, question: string, refusal: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) throw new UsageError(refusal);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} Type "yes" to go on: `);
    if (answer.trim().toLowerCase() !== 'yes') {
      process.stderr.write('Nothing was changed.\n');
      throw new ExitCode(1);
    }
  } finally {
    rl.close();
  }
}
