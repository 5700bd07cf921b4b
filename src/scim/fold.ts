// Case folding for attributes with caseExact false (userName, group displayName, emails.value,
// and every other case-insensitive string). RFC 7644 §5 and §7.8 ask that userName be prepared
// with PRECIS (RFC 7613 UsernameCaseMapped): width mapping, case mapping, normalization. NFKC
// performs the width mapping (full-width letters become ASCII) and composition; toLowerCase is
// Unicode's default case mapping. "ß" and "ss" stay distinct, as PRECIS keeps them.
// The same function is registered in SQLite (store/dialect/sqlite-connection.ts) so that SQL comparisons
// agree with this one exactly.

/** Folds a case-insensitive string to its comparison form: NFKC, then lower case. */
export function fold(value: string): string {
  return value.normalize('NFKC').toLowerCase()
}
