/**
 * A worker thread running one of our modules, whether this process runs the build (plain .js: the worker
 * loads it as is) or the TypeScript sources (tsx, vitest: the worker registers tsx's loader first, since a
 * worker does not inherit the loaders of its parent on every Node version, nor vitest's at all).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * `sibling` (a file name without extension, next to `from`, which is the caller's import.meta.url) as the
 * file this process would load: `.ts` when it runs the sources, `.js` when it runs the build.
 */
export function siblingModule(from: string, sibling: string): URL {
  return new URL(`./${sibling}${from.endsWith('.ts') ? '.ts' : '.js'}`, from);
}

/** Starts `module` (a file URL) in a worker thread with `workerData`. */
export function startModuleWorker(module: URL, workerData: unknown): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, { workerData });
  const boot = `import(${JSON.stringify(tsxApi())}).then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); });`;
  // Note: tsx's own flags (`npx tsx` passes them) are left out: the worker registers it once, above.
  return new Worker(boot, { eval: true, workerData, execArgv: withoutTsx(process.execArgv) });
}

/**
 * The file URL of tsx's ESM API (`tsx/esm/api` as an import resolves it). Note: its CommonJS form, which
 * `require.resolve` gives, fails to register in a worker (it looks for its hooks beside itself).
 */
function tsxApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return new URL(exports['./esm/api']!.import.default, pathToFileURL(manifest)).href;
}

/** `--require …tsx…` and `--import …tsx…` dropped from node's arguments, anything else (--cpu-prof) kept. */
function withoutTsx(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const loader = arg === '--require' || arg === '--import' || arg === '-r';
    if (loader && args[i + 1]?.includes('tsx')) {
      i++;
      continue;
    }
    if (/^--(require|import|loader)=.*tsx/.test(arg)) continue;
    kept.push(arg);
  }
  return kept;
}
