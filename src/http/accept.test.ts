import { describe, expect, it } from 'vitest'
import { acceptsAny } from './accept.ts'

const SCIM = ['application/scim+json', 'application/json']
const API = ['application/json']

describe('acceptsAny', () => {
  it('admits what names a produced type, its type with *, or */*, and no header at all', () => {
    for (const h of [undefined, '', '  ', 'application/scim+json', 'application/json', 'APPLICATION/SCIM+JSON; charset=utf-8', '*/*', 'application/*',
      'text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8', 'text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2', 'application/xml, application/json;q=0.1']) {
      expect(acceptsAny(h, SCIM), String(h)).toBe(true)
    }
  })

  it('refuses what names only other types, or gives ours a weight of 0', () => {
    for (const h of ['application/xml', 'text/html', 'text/plain, text/csv', 'application/scim+json;q=0, application/json;q=0', '*/*;q=0', 'application/*;q=0, text/*']) {
      expect(acceptsAny(h, SCIM), h).toBe(false)
    }
    // The most specific range decides: application/json is refused, */* still admits scim+json.
    expect(acceptsAny('application/json;q=0, */*', SCIM)).toBe(true)
    expect(acceptsAny('application/json;q=0, */*', API)).toBe(false)
    expect(acceptsAny('application/scim+json', API)).toBe(false)
  })

  it('ignores what does not parse: a header of nothing but garbage is no header', () => {
    expect(acceptsAny('garbage', SCIM)).toBe(true)
    expect(acceptsAny('*/json', SCIM)).toBe(true)
    expect(acceptsAny('garbage, application/xml', SCIM)).toBe(false)
  })
})
