// Compiled SQL per query shape. A list query's SQL depends on the filter's structure, not on
// its values, yet compiling it with Kysely costs more than running it. The shape key is the
// filter's SQL fragments with every bound value taken out (in the order they are bound), so two
// filters with one key compile to the same SQL text. The first compile of a shape checks that
// its parameters are exactly the values it expects; a shape that fails the check is compiled
// every time. It caches SQL text, never data, so it cannot go stale.
import type { Expression, OperationNode, RawNode, ValueNode } from 'kysely'

const MAX_SHAPES = 2_000

/** The SQL fragments and bound values of an expression, in binding order. */
export interface Shape {
  readonly key: string
  readonly values: readonly unknown[]
}

function walk(node: OperationNode, key: string[], values: unknown[]): void {
  if (node.kind === 'ValueNode') {
    values.push((node as ValueNode).value)
    key.push('?')
  } else if (node.kind === 'RawNode') {
    const raw = node as RawNode
    raw.sqlFragments.forEach((f, i) => {
      key.push(f)
      const p = raw.parameters[i]
      if (p) walk(p, key, values)
    })
  } else {
    // References, identifiers: no values inside, so their JSON is their SQL's identity.
    key.push(JSON.stringify(node))
  }
}

export function shapeOf(exprs: readonly (Expression<unknown> | null)[]): Shape {
  const key: string[] = []
  const values: unknown[] = []
  for (const e of exprs) {
    key.push('\u0001')
    if (e) walk(e.toOperationNode(), key, values)
  }
  return { key: key.join(''), values }
}

export class ShapeCache {
  readonly #sql = new Map<string, string | null>()

  /**
   * The SQL for `key`: cached, or compiled by `compile` and checked against `expected` (the
   * parameters the cached text will be run with) before it is kept.
   */
  sql(key: string, expected: readonly unknown[], compile: () => { sql: string; parameters: readonly unknown[] }): { sql: string; parameters: readonly unknown[] } {
    const known = this.#sql.get(key)
    if (typeof known === 'string') return { sql: known, parameters: expected }
    const c = compile()
    if (known === undefined) {
      const same = c.parameters.length === expected.length && c.parameters.every((p, i) => p === expected[i])
      if (this.#sql.size >= MAX_SHAPES) this.#sql.clear()
      this.#sql.set(key, same ? c.sql : null)
    }
    return c
  }
}
