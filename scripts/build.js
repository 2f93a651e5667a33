#!/usr/bin/env node
/**
 * `npm run build` (and `prepare`, so `npm ci` leaves a working `npx midflight`): compiles src/ to plain
 * JavaScript in dist/ with tsc and copies the files that are not TypeScript (the sandbox's built-in
 * scenarios) beside it, so the installed command starts without a compiler.
 *
 * `--out-dir DIR` builds elsewhere (a test builds into a temporary directory and leaves dist/ alone).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outFlag = process.argv.indexOf('--out-dir');
const outDir = resolve(outFlag >= 0 ? process.argv[outFlag + 1] : join(root, 'dist'));
const srcDir = join(root, 'src');

// Note: start from nothing, so a module deleted from src/ cannot live on in dist/ and still be imported.
rmSync(outDir, { recursive: true, force: true });

const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const compiled = spawnSync(
  process.execPath,
  [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir],
  { stdio: 'inherit' },
);
if (compiled.status !== 0) {
  process.stderr.write(`build failed: tsc exited with ${compiled.status ?? compiled.signal}\n`);
  process.exit(1);
}

for (const file of assetsIn(srcDir)) cpSync(file, join(outDir, relative(srcDir, file)));

/** Every file under dir that tsc does not emit: data read at run time through import.meta.url. */
function assetsIn(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return assetsIn(path);
    return extname(entry.name) === '.ts' ? [] : [path];
  });
}
