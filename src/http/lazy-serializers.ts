// Response serializers built on a route's first answer with a status, not at start. Fastify builds
// a fast-json-stringify serializer for every response schema when the app starts: for the
// directory API's routes that was 0.4 s of a 1.0–1.5 s start (a CPU profile of `roster serve`),
// and memory for serializers a server may never use (most answers are SCIM's, not every /api/v1
// route's). The serializer is the same one, from the same schemas: only when it is built moves.
// A schema fast-json-stringify refuses would now fail its route's first answer instead of the
// start: test/e2e/openapi.test.ts builds every route's serializers, so it fails a test first.
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'

type Serialize = (data: unknown) => string
type RouteSchema = Parameters<ReturnType<ReturnType<typeof SerializerSelector>>>[0]

/** Fastify's `schemaController.compilersFactory.buildSerializer`, each serializer built when first asked for. */
export function lazySerializers(): ReturnType<typeof SerializerSelector> {
  const eager = SerializerSelector()
  return (externalSchemas, options) => {
    const build = eager(externalSchemas, options)
    return (route: RouteSchema) => {
      let serialize: Serialize | undefined
      return (data: unknown) => (serialize ??= build(route) as Serialize)(data)
    }
  }
}
