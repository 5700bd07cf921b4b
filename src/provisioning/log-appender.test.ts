// The batched appender writes, per flush, the rows buffered when that flush began: under steady
// traffic a few large commits a second, not one small commit after another.
import { describe, expect, it } from 'vitest'
import { StoreUnavailable, type LogRow, type OrgId, type Store } from '../store/store.ts'
import { LogAppender } from './log-appender.ts'

const row = (id: string) => ({ id }) as unknown as LogRow
const org = 'o' as OrgId

/** A store whose writes finish when the test says so, recording each batch. */
function heldStore() {
  const batches: string[][] = []
  const pending: (() => void)[] = []
  const store = {
    appendLog: (rows: readonly { row: LogRow }[]) => new Promise<void>((resolve) => {
      pending.push(() => {
        batches.push(rows.map((r) => r.row.id))
        resolve()
      })
    }),
  } as unknown as Store
  const release = async () => {
    const p = pending.shift()
    p?.()
    await new Promise((r) => setImmediate(r))
  }
  return { store, batches, pending, release }
}

describe('LogAppender', () => {
  it('leaves rows that arrive during a commit to the next flush', async () => {
    const h = heldStore()
    const a = new LogAppender(h.store, { flushIntervalMs: 60_000 })
    a.add(org, row('1'))
    a.add(org, row('2'))
    const first = a.flush()
    a.add(org, row('3'))
    await h.release()
    await first
    expect(h.batches).toEqual([['1', '2']])
    expect(h.pending).toHaveLength(0)
    const second = a.flush()
    await h.release()
    await second
    expect(h.batches).toEqual([['1', '2'], ['3']])
    await a.close()
  })

  it('flush() resolves once every row buffered before the call is written, even while another flush runs', async () => {
    const h = heldStore()
    const a = new LogAppender(h.store, { flushIntervalMs: 60_000 })
    a.add(org, row('1'))
    void a.flush()
    a.add(org, row('2'))
    let done = false
    const all = a.flush().then(() => { done = true })
    await h.release()
    expect(done).toBe(false)
    await h.release()
    await all
    expect(h.batches).toEqual([['1'], ['2']])
    await a.close()
  })

  it('sets aside a row the database refuses for what it holds, writes every other row, and reports it; an absent database keeps them all', async () => {
    const written: string[] = []
    let away = false
    const store = {
      appendLog: async (rows: readonly { row: LogRow }[]) => {
        if (away) throw new StoreUnavailable('database unavailable')
        if (rows.some((r) => r.row.id === 'bad')) throw new Error('invalid byte sequence for encoding "UTF8": 0x00')
        written.push(...rows.map((r) => r.row.id))
      },
    } as unknown as Store
    const rejected: string[] = []
    const a = new LogAppender(store, { flushIntervalMs: 60_000, onRejected: (_e, r) => rejected.push(r.requestId) })
    const bad = { id: 'bad', requestId: 'req-bad' } as unknown as LogRow
    for (const id of ['1', '2', '3']) a.add(org, row(id))
    a.add(org, bad)
    for (const id of ['4', '5', '6', '7']) a.add(org, row(id))
    await a.flush()
    expect(written.sort()).toEqual(['1', '2', '3', '4', '5', '6', '7'])
    expect(rejected).toEqual(['req-bad'])
    expect(a.rejected).toBe(1)

    // Later rows are not held up by it, and a database that is away keeps rows for the next flush.
    away = true
    a.add(org, row('8'))
    await a.flush()
    expect(written).not.toContain('8')
    away = false
    await a.flush()
    expect(written).toContain('8')
    expect(a.rejected).toBe(1)
    await a.close()
  })
})
