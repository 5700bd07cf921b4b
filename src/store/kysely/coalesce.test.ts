import { describe, expect, it } from 'vitest'
import { Coalescer } from './coalesce.ts'
import type { Conn } from './prepared.ts'

function countingConn(): Conn & { runs: string[]; value: number } {
  const c = {
    runs: [] as string[],
    value: 0,
    all<R>(sql: string, params: readonly unknown[]): Promise<R[]> {
      c.runs.push(`${sql} ${JSON.stringify(params)}`)
      return Promise.resolve([{ n: c.value }] as R[])
    },
    run: () => Promise.resolve(0),
  }
  return c
}

describe('Coalescer', () => {
  it('identical reads asked for before the statement starts share one execution', async () => {
    const conn = countingConn()
    const c = new Coalescer(conn)
    const answers = await Promise.all([c.all('count', [1]), c.all('count', [1]), c.all('count', [2]), c.all('count', [1])])
    expect(conn.runs).toEqual(['count [1]', 'count [2]'])
    expect(answers).toEqual([[{ n: 0 }], [{ n: 0 }], [{ n: 0 }], [{ n: 0 }]])
  })

  it('a read asked for after the statement started runs again and sees later writes', async () => {
    const conn = countingConn()
    const c = new Coalescer(conn)
    const first = await c.all<{ n: number }>('count', [])
    conn.value = 1 // a write acknowledged before the next read is asked for
    const second = await c.all<{ n: number }>('count', [])
    expect(first[0]?.n).toBe(0)
    expect(second[0]?.n).toBe(1)
    expect(conn.runs).toHaveLength(2)
  })
})
