// The ScimError a call throws, for tests that check its status, scimType and detail.
import { ScimError } from '../../src/scim/errors.ts'

export function scimErrorOf(fn: () => unknown): ScimError {
  try {
    fn()
  } catch (e) {
    if (e instanceof ScimError) return e
    throw e
  }
  throw new Error('expected a ScimError')
}
