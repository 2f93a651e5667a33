/**
 * Reading what a gate's request needs from files (a token, a password, a CA) before each request, so that a
 * rotated secret is picked up. An error names the policy field and the path, never the content.
 */
import { readFile } from 'node:fs/promises';

export async function readSecretFile(path: string, field: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${field} ${path}: ${(err as Error).message}`);
  }
}
