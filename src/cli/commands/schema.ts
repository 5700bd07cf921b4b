// `roster schema add ORG FILE.json | list ORG | remove ORG URN`: an organization's declared
// extension schemas (docs/custom-attributes.md), as the API's /orgs/{org}/schemas changes them.
import { readFileSync } from 'node:fs'
import type { Deps } from '../../provisioning/deps.ts'
import { declareSchema, listSchemas, removeSchema } from '../../provisioning/org-schemas.ts'
import { OrgError } from '../../provisioning/orgs.ts'

export const SCHEMA_USAGE = 'usage: roster schema add ORG FILE.json | list ORG | remove ORG URN  [--json]'

export class SchemaUsage extends Error {}

const ACTOR = 'cli'

export type Print = (value: unknown, text: string) => void

function readDeclaration(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new SchemaUsage(`cannot read ${file}: ${(e as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new OrgError('ROSTER_ERR_SCHEMA', `${file} is not JSON: ${(e as Error).message}`)
  }
}

export async function schemaCommand(deps: Deps, sub: string | undefined, org: string | undefined, arg: string | undefined, print: Print): Promise<number> {
  if (!org) throw new SchemaUsage(SCHEMA_USAGE)
  switch (sub) {
    case 'add': {
      if (!arg) throw new SchemaUsage(SCHEMA_USAGE)
      const r = await declareSchema(deps, org, readDeclaration(arg), ACTOR)
      const what = !r.changed ? 'unchanged (the same declaration is stored)' : r.replaced ? 'replaced' : 'declared'
      const attrs = (r.schema.definition.attributes as { name: string }[]).map((a) => a.name).join(', ')
      print({ ...r.schema, replaced: r.replaced, changed: r.changed }, `Schema ${r.schema.id} (${r.schema.resourceType}): ${what}.\nAttributes: ${attrs}`)
      return 0
    }
    case 'list': {
      const { schemas } = await listSchemas(deps, org)
      print(schemas, schemas.length === 0 ? 'No declared schemas.'
        : schemas.map((s) => `${s.id}  ${s.resourceType}  ${(s.definition.attributes as { name: string }[]).map((a) => a.name).join(', ')}`).join('\n'))
      return 0
    }
    case 'remove': {
      if (!arg) throw new SchemaUsage(SCHEMA_USAGE)
      await removeSchema(deps, org, arg, ACTOR)
      print({ removed: arg }, `Removed ${arg}. The values users hold under it stay stored.`)
      return 0
    }
    default:
      throw new SchemaUsage(SCHEMA_USAGE)
  }
}
