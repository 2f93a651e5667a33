/**
 * Vitest's global setup: builds the sources once into a temporary package and points bin/midflight.js at it
 * (MIDFLIGHT_DIST), so every `midflight` process a test spawns runs this checkout's code without loading
 * tsx, which costs seconds of CPU per process (the suite spawns hundreds). The package links everything the
 * build reads at run time beside dist/ (package.json, docs/, examples/, node_modules/).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const NOT_LINKED = new Set(['dist', 'src', 'test', '.git']);

export default function setup(): () => void {
  const pkg = mkdtempSync(join(tmpdir(), 'midflight-test-build-'));
  for (const name of readdirSync(ROOT)) {
    if (!NOT_LINKED.has(name)) symlinkSync(join(ROOT, name), join(pkg, name));
  }
  const dist = join(pkg, 'dist');
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.js'), '--out-dir', dist], { stdio: 'inherit' });
  process.env.MIDFLIGHT_DIST = dist;
  return () => rmSync(pkg, { recursive: true, force: true });
}
