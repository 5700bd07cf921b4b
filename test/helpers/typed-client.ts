// The typed client (`roster/client`, src/client/index.ts) against a test app listening on a real
// port of 127.0.0.1, as an application uses it: fetch over HTTP with an API key.
import { createRosterClient, type RosterClient } from 'roster/client'
import type { TestApp } from './app.ts'

/** The app's base URL, listening on a free port of 127.0.0.1 from the first call on. */
export async function listening(t: TestApp): Promise<string> {
  if (!t.app.server.listening) await t.app.listen({ port: 0, host: '127.0.0.1' })
  const a = t.app.server.address()
  if (a === null || typeof a === 'string') throw new Error('the app is not listening on a TCP port')
  return `http://127.0.0.1:${a.port}`
}

/** A client of the app's /api/v1 with `apiKey`. */
export async function typedClient(t: TestApp, apiKey: string): Promise<RosterClient> {
  return createRosterClient({ baseUrl: await listening(t), apiKey })
}
