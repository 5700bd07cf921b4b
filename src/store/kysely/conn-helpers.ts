// Running a fixed statement (statements.ts) through a Conn, and splitting a list of ids into
// the chunks one list parameter binds.
import type { Conn, Prepared } from './prepared.ts'

/** Most ids bound in one list parameter. */
const CHUNK = 1_000

export function chunks<T>(list: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}

export function all<R>(conn: Conn, p: Prepared, args: readonly unknown[]): Promise<R[]> {
  return conn.all<R>(p.sql, p.bind(args))
}

export function run(conn: Conn, p: Prepared, args: readonly unknown[]): Promise<number> {
  return conn.run(p.sql, p.bind(args))
}
