// A Prometheus histogram of plain numbers: observing one value adds to a preallocated array and
// allocates nothing, so that the request path and the write path can afford it
// (https://prometheus.io/docs/concepts/metric_types/#histogram).

export class Histogram {
  readonly #bounds: readonly number[]
  /** Observations at or below each bound (not cumulative: summed when written out). */
  readonly #counts: Float64Array
  count = 0
  sum = 0

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds
    this.#counts = new Float64Array(bounds.length)
  }

  observe(value: number): void {
    this.count++
    this.sum += value
    const b = this.#bounds
    for (let i = 0; i < b.length; i++) {
      if (value <= (b[i] as number)) {
        this.#counts[i] = (this.#counts[i] as number) + 1
        return
      }
    }
  }

  /** The exposition lines of this series: `name_bucket{labels,le=…}`, `name_sum`, `name_count`. */
  lines(name: string, labels: string, out: string[]): void {
    const sep = labels === '' ? '' : ','
    let cumulative = 0
    this.#bounds.forEach((bound, i) => {
      cumulative += this.#counts[i] as number
      out.push(`${name}_bucket{${labels}${sep}le="${bound}"} ${cumulative}`)
    })
    out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`)
    const braces = labels === '' ? '' : `{${labels}}`
    out.push(`${name}_sum${braces} ${this.sum}`, `${name}_count${braces} ${this.count}`)
  }
}

/** A label value as the exposition format writes it (backslash, quote and newline escaped). */
export function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}
