// Statements compiled once. Kysely builds each statement's SQL for the store's dialect at
// start-up, with marker values where the arguments go; a call binds the arguments into that
// text and hands it to the connection, which keeps the database's prepared statement.
import type { Compilable } from 'kysely'
import type { Deadline } from '../deadline.ts'

const MARK = '\u0000roster-arg:'

/** A placeholder for argument `i` of a prepared statement; typed `never` so that it fits any column. */
export function arg(i: number): never {
  return `${MARK}${i}` as never
}

export interface Prepared {
  readonly sql: string
  bind(args: readonly unknown[]): unknown[]
}

export function prepare(q: Compilable): Prepared {
  const c = q.compile()
  const slots = c.parameters.map((p) => (typeof p === 'string' && p.startsWith(MARK) ? Number(p.slice(MARK.length)) : -1))
  const constants = [...c.parameters]
  return {
    sql: c.sql,
    bind: (args) => slots.map((s, i) => (s >= 0 ? args[s] : constants[i])),
  }
}

/** One database connection (or the reader pool) as the store uses it. */
export interface Conn {
  /** `deadline`: where the connection can stop a statement (read workers, PostgreSQL), it stops it then. */
  all<R = Record<string, unknown>>(sql: string, params: readonly unknown[], deadline?: Deadline): Promise<R[]>
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params: readonly unknown[]): Promise<number>
}
