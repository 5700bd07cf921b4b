import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { describe, expect, it } from 'vitest'
import { lazySerializers } from './lazy-serializers.ts'

const route = (schema: unknown) => ({ schema, method: 'GET', url: '/x', httpStatus: '200' }) as Parameters<ReturnType<ReturnType<typeof SerializerSelector>>>[0]

describe('lazySerializers', () => {
  it('builds nothing until the first answer: a schema fast-json-stringify refuses fails there, not before', () => {
    const broken = route({ type: 'object', properties: { a: { $ref: 'Nowhere#' } } })
    expect(() => SerializerSelector()({}, {})(broken)).toThrow()
    const serialize = lazySerializers()({}, {})(broken)
    expect(() => serialize({ a: 1 })).toThrow()
  })

  it('serializes as the serializer built at start does, with the shared schemas, each time', () => {
    const shared = { Person: { $id: 'Person', type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } } } }
    const schema = { type: 'object', properties: { person: { $ref: 'Person#' }, tags: { type: 'array', items: { type: 'string' } } } }
    const eager = SerializerSelector()(shared, {})(route(schema))
    const lazy = lazySerializers()(shared, {})(route(schema))
    for (const data of [{ person: { name: 'Ada', age: 36, secret: 'x' }, tags: ['a'], extra: 1 }, { person: { name: 'B' } }, {}]) {
      expect(lazy(data)).toBe(eager(data))
    }
    expect(lazy({ person: { name: 'Ada', age: 36, secret: 'x' } })).toBe('{"person":{"name":"Ada","age":36}}')
  })
})
