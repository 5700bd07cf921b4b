// Builds the server: src/cli/main.ts bundled with esbuild into one ES module, with the worker
// threads' files (src/store/dialect/*.mjs) beside it. `npm run build` and `npm install`
// (the `prepare` script) write it to dist/; bin/roster.js runs it. Loading TypeScript through a
// loader at run time instead would keep a loader thread resident, about 30 MiB for the life of
// the server.
//
//   node scripts/build.mjs [OUT_DIR]        (dist/ by default)
import { copyFileSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const BUNDLE = 'roster.mjs'

/** Builds into `out`. Each file is written beside its place and renamed over it: several processes building at once never leave a half-written bundle. */
export async function build(out = join(ROOT, 'dist')) {
  const { buildSync } = await import('esbuild')
  mkdirSync(out, { recursive: true })
  const replace = (file, write) => {
    const tmp = `${file}.${process.pid}.tmp`
    write(tmp)
    renameSync(tmp, file)
  }
  const built = buildSync({
    entryPoints: [join(ROOT, 'src/cli/main.ts')],
    write: false,
    outfile: join(out, BUNDLE),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'error',
  })
  // Worker threads start from their own files, found next to the bundle; the bundle goes last,
  // so that a bundle present means its workers are too.
  const dialect = join(ROOT, 'src/store/dialect')
  for (const f of readdirSync(dialect)) if (f.endsWith('.mjs')) replace(join(out, f), (tmp) => copyFileSync(join(dialect, f), tmp))
  const outputs = [...built.outputFiles].sort((a, b) => Number(a.path.endsWith(BUNDLE)) - Number(b.path.endsWith(BUNDLE)))
  for (const o of outputs) replace(o.path, (tmp) => writeFileSync(tmp, o.contents))
  return join(out, BUNDLE)
}

/** The newest modification time (ms) of the files under src/ (0 when there is no src/). */
export function newestSource(dir = join(ROOT, 'src')) {
  let newest = 0
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const e of entries) {
    const p = join(dir, e.name)
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p))
    else if (e.isFile()) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  return newest
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = await build(process.argv[2] ? resolve(process.argv[2]) : undefined)
  process.stdout.write(`built ${file}\n`)
}
