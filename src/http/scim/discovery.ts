// Discovery endpoints (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes, /Schemas. They
// describe exactly what this server does, from the same schema data that drives validation.
import { ScimError, quote } from '../../scim/errors.ts'
import { commonAttributes } from '../../scim/schema/common.ts'
import { allSchemas, groupResource, userResource } from '../../scim/schema/registry.ts'
import type { AttributeDef, SchemaDef } from '../../scim/schema/types.ts'
import type { Limits } from '../../provisioning/deps.ts'
import type { OrgResources } from '../../provisioning/org-schemas.ts'

const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'

function listOf(resources: unknown[]): Record<string, unknown> {
  return { schemas: [LIST], totalResults: resources.length, itemsPerPage: resources.length, startIndex: 1, Resources: resources }
}

export function serviceProviderConfig(baseUrl: string, limits: Limits): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    patch: { supported: true },
    bulk: { supported: true, maxOperations: limits.maxBulkOperations, maxPayloadSize: limits.maxBodyBytes },
    filter: { supported: true, maxResults: limits.maxResults },
    changePassword: { supported: true },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'A per-organization secret token sent as "Authorization: Bearer <token>".', primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  }
}

function resourceTypeDoc(baseUrl: string, rs: typeof userResource): Record<string, unknown> {
  const t = rs.resourceType
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: t.id, name: t.name, endpoint: t.endpoint, description: t.description, schema: t.schema,
    schemaExtensions: t.schemaExtensions,
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${t.id}` },
  }
}

function attributeDoc(a: AttributeDef): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: a.name, type: a.type, multiValued: a.multiValued, description: a.description, required: a.required,
    caseExact: a.caseExact, mutability: a.mutability, returned: a.returned, uniqueness: a.uniqueness,
  }
  if (a.canonicalValues) out.canonicalValues = a.canonicalValues
  if (a.referenceTypes) out.referenceTypes = a.referenceTypes
  if (a.subAttributes) out.subAttributes = a.subAttributes.map(attributeDoc)
  return out
}

function schemaDoc(baseUrl: string, s: SchemaDef): Record<string, unknown> {
  // The common attributes (id, externalId, meta) belong to every resource (RFC 7643 §3.1);
  // they are listed with the core schemas so that clients discover externalId.
  const core = s.id === userResource.core.id || s.id === groupResource.core.id
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id: s.id, name: s.name, description: s.description,
    attributes: [...(core ? commonAttributes.filter((a) => a.name === 'externalId') : []), ...s.attributes].map(attributeDoc),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${s.id}` },
  }
}

/** The resource types; with an organization's resources, its declared extensions among them. */
export function resourceTypes(baseUrl: string, id?: string, org?: OrgResources): Record<string, unknown> {
  const all = (org ? [org.user, org.group] : [userResource, groupResource]).map((rs) => resourceTypeDoc(baseUrl, rs))
  if (id === undefined) return listOf(all)
  const one = all.find((r) => String(r.id).toLowerCase() === id.toLowerCase())
  if (!one) throw new ScimError(404, null, `ResourceType ${quote(id)} not found`)
  return one
}

/** The schemas; with an organization's resources, its declared ones after the standard ones. */
export function schemas(baseUrl: string, id?: string, org?: OrgResources): Record<string, unknown> {
  const all = [...allSchemas, ...(org?.declared.map((d) => d.schema) ?? [])].map((s) => schemaDoc(baseUrl, s))
  if (id === undefined) return listOf(all)
  const one = all.find((s) => String(s.id).toLowerCase() === id.toLowerCase())
  if (!one) throw new ScimError(404, null, `Schema ${quote(id)} not found`)
  return one
}
