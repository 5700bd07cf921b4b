// Builds the server: src/cli/main.ts bundled with esbuild into one ES module, with the worker
// threads' files (src/store/dialect/*.mjs) beside it. `npm run build` and `npm install`
// (the `prepare` script) write it to dist/; bin/roster.js runs it. Loading TypeScript through a
// loader at run time instead would keep a loader thread resident, about 30 MiB for the life of
// the server. The same run builds the typed API client, the package's `roster/client` export:
// dist/client/index.js for Node and bundlers, and its declarations (index.d.ts, api-types.d.ts)
// for TypeScript, so that an application needs no TypeScript loader to use it.
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

/**
 * Builds `roster/client` into `out`/client: the JavaScript by esbuild (openapi-fetch stays an
 * import), the declarations by TypeScript's compiler, a development dependency: `npm pack` and
 * `npm install` of a checkout have it; a production install of a checkout (`npm ci --omit=dev`)
 * does not, and builds the JavaScript only (its server does not use the client). Declarations
 * keep the sources' `.ts` import specifiers, which a consumer's compiler may refuse; they are
 * written as `.js`, which TypeScript resolves to the `.d.ts` beside it. Returns what was built.
 */
export async function buildClient(out = join(ROOT, 'dist')) {
  const { buildSync } = await import('esbuild')
  const dir = join(out, 'client')
  mkdirSync(dir, { recursive: true })
  const entry = join(ROOT, 'src/client/index.ts')
  buildSync({ entryPoints: [entry], outfile: join(dir, 'index.js'), bundle: true, platform: 'neutral', format: 'esm', target: 'es2022', packages: 'external', logLevel: 'error' })
  let ts
  try {
    ts = (await import('typescript')).default
  } catch {
    return `${dir} (JavaScript only: TypeScript, a development dependency, is not installed)`
  }
  const emitted = new Map()
  const program = ts.createProgram([entry], {
    declaration: true, emitDeclarationOnly: true, allowImportingTsExtensions: true, strict: true, skipLibCheck: true,
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: [],
    rootDir: join(ROOT, 'src/client'), outDir: dir,
  })
  const result = program.emit(undefined, (file, text) => emitted.set(file, text.replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1.js$2')))
  const errors = ts.getPreEmitDiagnostics(program).concat(result.diagnostics).filter((d) => d.category === ts.DiagnosticCategory.Error)
  if (errors.length > 0) throw new Error(`roster/client declarations: ${ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' })}`)
  for (const [file, text] of emitted) writeFileSync(file, text)
  return dir
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
  const out = process.argv[2] ? resolve(process.argv[2]) : undefined
  const file = await build(out)
  const client = await buildClient(out)
  process.stdout.write(`built ${file} and ${client}\n`)
}
