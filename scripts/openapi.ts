// `npm run openapi`: writes the OpenAPI document of /api/v1 as the server serves it
// (docs/openapi.json) and the typed client's types generated from it (src/client/api-types.ts).
// The document comes from the routes' own schemas (src/http/api/schemas.ts): this builds the app
// in-process on a throwaway SQLite store and reads GET /api/v1/openapi.json. Both files are
// committed; test/e2e/openapi.test.ts fails when either differs from what this would write.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript'
import { buildApp } from '../src/http/app.ts'
import { uuidV7Generator } from '../src/ids.ts'
import { DEFAULT_LIMITS } from '../src/provisioning/deps.ts'
import { openSqliteStore } from '../src/store/dialect/sqlite.ts'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const DOCUMENT_FILE = join(ROOT, 'docs/openapi.json')
export const TYPES_FILE = join(ROOT, 'src/client/api-types.ts')

type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue }

/** The value with every object's keys sorted, so that the file's text depends on content only. */
function sorted(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sorted)
  if (v === null || typeof v !== 'object') return v
  const out: { [k: string]: JsonValue } = {}
  for (const k of Object.keys(v).sort()) out[k] = sorted(v[k] as JsonValue)
  return out
}

/** docs/openapi.json's text for a document: pretty, keys sorted, a final newline. */
export function documentText(doc: unknown): string {
  return `${JSON.stringify(sorted(doc as JsonValue), null, 2)}\n`
}

/** src/client/api-types.ts's text for a document (openapi-typescript, v7 API). */
export async function typesText(doc: unknown): Promise<string> {
  const ast = await openapiTS(doc as OpenAPI3, { silent: true, defaultNonNullable: false })
  return `${COMMENT_HEADER.replace(' */', ' * Generated from docs/openapi.json by `npm run openapi` (scripts/openapi.ts).\n */')}${astToString(ast)}`
}

/** The document GET /api/v1/openapi.json serves, from an app on a throwaway store. */
export async function servedDocument(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'roster-openapi-'))
  const store = await openSqliteStore({ path: join(dir, 'roster.db') })
  try {
    const app = await buildApp({
      deps: { store, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS },
      config: { publicUrl: null, requestTimeoutMs: 20_000, logLevel: 'silent' },
      logger: false,
      webhooks: false,
    })
    try {
      const r = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })
      if (r.statusCode !== 200) throw new Error(`GET /api/v1/openapi.json answered ${r.statusCode}: ${r.body}`)
      return JSON.parse(r.body) as unknown
    } finally {
      await app.close()
    }
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const doc = await servedDocument()
  writeFileSync(DOCUMENT_FILE, documentText(doc))
  // The types are generated from the file as written, as the test regenerates them.
  writeFileSync(TYPES_FILE, await typesText(JSON.parse(documentText(doc))))
  console.log(`wrote ${DOCUMENT_FILE.slice(ROOT.length + 1)} and ${TYPES_FILE.slice(ROOT.length + 1)}`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
