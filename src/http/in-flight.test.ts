import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { watchClientGone } from './client-gone.ts'
import { countInFlight, RequestLoad } from './in-flight.ts'

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('the share of time requests are in flight', () => {
  it('is 1 over a window a request spans, 0 over one with none, and counts a stretch once', async () => {
    const load = new RequestLoad()
    expect(load.busyShare()).toBe(0)
    load.start()
    load.start()
    load.busyShare()
    await pause(5)
    expect(load.busyShare()).toBe(1)
    load.end()
    await pause(5)
    expect(load.busyShare()).toBe(1)
    load.end()
    load.busyShare()
    await pause(5)
    expect(load.busyShare()).toBe(0)
    // More ends than starts never make it negative or stuck.
    load.end()
    expect(load.busyShare()).toBe(0)
  })

  it('lets go of every request the server answers, and of one whose client went away', async () => {
    const load = new RequestLoad()
    const app = Fastify({ forceCloseConnections: true })
    watchClientGone(app, [countInFlight(app, load)])
    let release: () => void = () => {}
    const held = new Promise<void>((r) => (release = r))
    app.get('/fast', async () => ({ ok: true }))
    app.get('/held', async () => {
      await held
      return { ok: true }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
      await Promise.all([fetch(`${url}/fast`), fetch(`${url}/fast`)])
      const abort = new AbortController()
      const gone = fetch(`${url}/held`, { signal: abort.signal }).catch(() => null)
      await pause(50)
      load.busyShare()
      await pause(5)
      expect(load.busyShare()).toBe(1)
      abort.abort()
      await gone
      await pause(50)
      load.busyShare()
      await pause(5)
      expect(load.busyShare()).toBe(0)
      release()
    } finally {
      await app.close()
    }
  })
})
