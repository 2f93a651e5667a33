import { vi } from 'vitest';
import { main } from '../../src/cli/program.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `midflight ARGS…` in-process, capturing what it writes. */
export async function runCli(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  try {
    const code = await main(['node', 'midflight', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** A kubeconfig like the given one whose server is a closed local port. */
export function closedPortKubeconfig(kubeconfig: string): string {
  return kubeconfig.replace(/server: https?:\/\/[^\s]+/, 'server: https://127.0.0.1:1');
}
