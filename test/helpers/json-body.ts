// An answer's body as JSON: an empty object when it is empty or not JSON (a 204, a 304, an HTML
// error page), so that a test asserts on the status first and on the body's fields after.
export function jsonBody(text: string): Record<string, unknown> {
  if (!text) return {}
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}
