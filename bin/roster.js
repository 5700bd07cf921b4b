#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=30
// Entry point of the `roster` command. It bundles src/ with esbuild into dist/ (a fraction of a
// second, every start, so the bundle is never older than the source) and runs the bundle:
// loading TypeScript through a loader at run time would keep a loader thread resident, about
// 30 MiB for the life of the server.
// V8 flags (bench/RESULTS.md has the measurements): a request allocates many small,
// short-lived objects while little stays live, and V8's defaults let the old generation grow
// to several times the live data before a full collection. --heap-growing-percent=30 grows it
// by 30 % instead (the server peaked at 165 MiB instead of about 230 MiB, at the same
// throughput); --max-semi-space-size=8 halves the young generation. Neither caps the heap, so a
// large response cannot make the process run out of memory. `npm start` and the benchmark's
// --spawn pass the same flags.
import { copyFileSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildSync } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
mkdirSync(dist, { recursive: true })
// Each file is written beside its place and renamed over it: several servers starting at once
// (test/e2e/two-servers.test.ts, bench --servers) never load a half-written bundle.
const replace = (file, write) => {
  const tmp = `${file}.${process.pid}.tmp`
  write(tmp)
  renameSync(tmp, file)
}
const built = buildSync({
  entryPoints: [join(root, 'src/cli/main.ts')],
  write: false,
  outfile: join(dist, 'roster.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'error',
})
for (const out of built.outputFiles) replace(out.path, (tmp) => writeFileSync(tmp, out.contents))
// Worker threads start from their own files, found next to the bundle.
const dialect = join(root, 'src/store/dialect')
for (const f of readdirSync(dialect)) if (f.endsWith('.mjs')) replace(join(dist, f), (tmp) => copyFileSync(join(dialect, f), tmp))
await import(pathToFileURL(join(dist, 'roster.mjs')).href)
