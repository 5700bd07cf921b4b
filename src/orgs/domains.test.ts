import { describe, expect, it } from 'vitest'
import {
  CONSUMER_DOMAINS,
  checkDomainVerification,
  domainAllowed,
  emailDomainOf,
  newVerificationToken,
  normalizeDomain,
  outsideDomains,
  verificationRecord,
  type TxtResolver,
} from './domains.ts'

const reasonOf = (input: string, opts?: { force?: boolean }): string => {
  const result = normalizeDomain(input, opts)
  if (result.ok) throw new Error(`${input} was accepted as ${result.domain}`)
  return result.reason
}

describe('normalizeDomain', () => {
  const accepted: readonly [string, string][] = [
    ['acme.com', 'acme.com'],
    ['  ACME.Com  ', 'acme.com'],
    ['acme.com.', 'acme.com'],
    ['eu.acme.co.uk', 'eu.acme.co.uk'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['BÜCHER.example.', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['ａｃｍｅ.com', 'acme.com'],
    ['my-company.io', 'my-company.io'],
    ['123.example', '123.example'],
    [`${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
  ]
  for (const [input, domain] of accepted) {
    it(`accepts ${JSON.stringify(input)} as ${domain}`, () => {
      expect(normalizeDomain(input)).toEqual({ ok: true, domain })
    })
  }

  it('is idempotent', () => {
    const first = normalizeDomain('Bücher.Example.')
    expect(first.ok && normalizeDomain(first.domain)).toEqual(first)
  })

  it('refuses an empty value', () => {
    expect(reasonOf('')).toMatch(/empty/)
    expect(reasonOf('   ')).toMatch(/empty/)
  })

  it('refuses a single label', () => {
    for (const input of ['localhost', 'com', 'COM.']) {
      expect(reasonOf(input)).toMatch(/single label/)
    }
    expect(reasonOf('localhost')).toContain('"localhost"')
  })

  it('refuses IP addresses, v4 and v6, with or without brackets', () => {
    for (const input of ['192.168.1.10', '127.0.0.1.', '::1', '[::1]', '2001:db8::1', '[2001:DB8::1]', '0x7f.1', '999.1.1.1', 'acme.123']) {
      expect(reasonOf(input), input).toMatch(/IP address/)
    }
    expect(reasonOf('[::1]')).toContain('"[::1]"')
  })

  it('refuses a wildcard and points to the subdomains setting', () => {
    const reason = reasonOf('*.acme.com')
    expect(reason).toContain('"*.acme.com"')
    expect(reason).toMatch(/wildcard/)
    expect(reason).toMatch(/subdomains setting/)
    expect(reason).toContain('(acme.com)')
    expect(reasonOf('a*.acme.com')).toMatch(/subdomains setting/)
  })

  it('refuses a URL, an email address, a port or spaces and asks for the domain only', () => {
    for (const input of ['https://acme.com', 'bob@acme.com', 'acme.com/login', 'acme.com:443', 'acme .com', 'acme.com\tx']) {
      const reason = reasonOf(input)
      expect(reason, input).toMatch(/domain only/)
    }
    expect(reasonOf('https://acme.com')).toContain('"https://acme.com"')
    expect(reasonOf('bob@acme.com')).toContain('"bob@acme.com"')
  })

  it('refuses characters outside letters, digits and hyphens', () => {
    for (const input of ['a_b.com', 'acme%41.com', 'acme\\x.com', 'ac!me.com']) {
      expect(reasonOf(input), input).toMatch(/only letters, digits, hyphens and dots/)
    }
    expect(reasonOf('-acme.com')).toMatch(/hyphen/)
    expect(reasonOf('acme-.com')).toMatch(/hyphen/)
  })

  it('refuses an invalid internationalized name', () => {
    expect(reasonOf('xn--a.com')).toMatch(/not a valid internationalized domain name/)
  })

  it('refuses empty labels', () => {
    expect(reasonOf('acme..com')).toMatch(/empty label/)
    expect(reasonOf('.acme.com')).toMatch(/empty label/)
    expect(reasonOf('acme.com..')).toMatch(/empty label/) // only one final dot is dropped
  })

  it('refuses a label longer than 63 characters', () => {
    const reason = reasonOf(`${'a'.repeat(64)}.com`)
    expect(reason).toMatch(/label of 64 characters/)
    expect(reason).toMatch(/at most 63/)
    // The limit applies to the punycode form: 63 characters here, 78 in DNS.
    expect(reasonOf(`${'a'.repeat(55)}üöäéèàçñ.com`)).toMatch(/label of 78 characters/)
  })

  it('refuses a name longer than 253 characters', () => {
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`
    expect(name).toHaveLength(254)
    expect(reasonOf(name)).toMatch(/254 characters long; a domain name is at most 253/)
  })

  it('refuses consumer mailbox domains unless forced', () => {
    for (const domain of ['gmail.com', 'outlook.com', 'hotmail.com', 'yahoo.com', 'icloud.com', 'proton.me', 'qq.com', 'hey.com']) {
      expect(CONSUMER_DOMAINS.has(domain)).toBe(true)
      const reason = reasonOf(domain)
      expect(reason).toContain(`"${domain}"`)
      expect(reason).toMatch(/anyone can get an address there/)
      expect(reason).not.toContain('force')
      expect(normalizeDomain(domain, { hint: 'cli' })).toMatchObject({ ok: false, reason: `${reason} Use --force to add it anyway.` })
      expect(normalizeDomain(domain, { hint: 'api' })).toMatchObject({ ok: false, reason: `${reason} Send "force": true with the change to add it anyway.` })
      expect(normalizeDomain(domain, { force: true })).toEqual({ ok: true, domain })
    }
    expect(reasonOf('  GMail.COM. ')).toMatch(/anyone can get an address/)
  })

  it('writes reasons as sentences', () => {
    for (const input of ['', 'com', '::1', '*.acme.com', 'bob@acme.com', 'a_b.com', 'acme..com', 'gmail.com']) {
      expect(reasonOf(input)).toMatch(/^[A-Z"].*\.$/)
    }
  })
})

describe('emailDomainOf', () => {
  it('returns the normalized domain after the last @', () => {
    expect(emailDomainOf('bob@acme.com')).toBe('acme.com')
    expect(emailDomainOf(' Bob@ACME.com. ')).toBe('acme.com')
    expect(emailDomainOf('bob@bücher.example')).toBe('xn--bcher-kva.example')
    expect(emailDomainOf('"a@b"@acme.com')).toBe('acme.com')
  })

  it('does not refuse consumer domains', () => {
    expect(emailDomainOf('bob@gmail.com')).toBe('gmail.com')
  })

  it('returns null for values that are not email addresses', () => {
    for (const value of ['bob', '', '@acme.com', 'bob@', 'bob@localhost', 'bob@192.168.0.1', 'bob@[::1]', 'bob@acme..com']) {
      expect(emailDomainOf(value), value).toBeNull()
    }
  })
})

describe('domainAllowed', () => {
  it('matches exactly', () => {
    expect(domainAllowed('acme.com', ['acme.com'], false)).toBe(true)
    expect(domainAllowed('acme.org', ['acme.com', 'acme.org'], false)).toBe(true)
    expect(domainAllowed('eu.acme.com', ['acme.com'], false)).toBe(false)
    expect(domainAllowed('acme.com', [], true)).toBe(false)
  })

  it('matches proper subdomains only when subdomains is on', () => {
    expect(domainAllowed('eu.acme.com', ['acme.com'], true)).toBe(true)
    expect(domainAllowed('a.b.acme.com', ['acme.com'], true)).toBe(true)
    expect(domainAllowed('notacme.com', ['acme.com'], true)).toBe(false)
    expect(domainAllowed('acme.com.evil.com', ['acme.com'], true)).toBe(false)
    expect(domainAllowed('com', ['acme.com'], true)).toBe(false)
  })
})

describe('outsideDomains', () => {
  const allowed = ['acme.com']

  it('accepts a user whose userName and checked emails are inside', () => {
    expect(outsideDomains({ userName: 'bob@acme.com', emails: [{ value: 'bob@acme.com', primary: true }] }, allowed, false)).toEqual([])
  })

  it('checks the userName only when it is an email address', () => {
    expect(outsideDomains({ userName: 'bob', emails: [] }, allowed, false)).toEqual([])
    expect(outsideDomains({ userName: null, emails: [] }, allowed, false)).toEqual([])
    expect(outsideDomains({ emails: [] }, allowed, false)).toEqual([])
    expect(outsideDomains({ userName: 'bob@other.com', emails: [] }, allowed, false)).toEqual(['bob@other.com'])
  })

  it('refuses a userName with an @ whose domain is not valid', () => {
    expect(outsideDomains({ userName: 'bob@localhost', emails: [] }, allowed, false)).toEqual(['bob@localhost'])
  })

  it('checks the primary email and work emails, not home or other ones', () => {
    const emails = [
      { value: 'bob@home.example', type: 'home' },
      { value: 'bob@other.example', type: 'other' },
      { value: 'bob@untyped.example' },
      { value: 'bob@primary.example', type: 'home', primary: true },
      { value: 'bob@work.example', type: 'work' },
      { value: 'bob@WORK2.example', type: 'Work', primary: false },
      { value: 'bob@acme.com', type: 'work' },
      { value: 'not an email', type: 'work' },
    ]
    expect(outsideDomains({ userName: 'bob', emails }, allowed, false)).toEqual([
      'bob@primary.example',
      'bob@work.example',
      'bob@WORK2.example',
      'not an email',
    ])
  })

  it('lists the userName first and each value once', () => {
    const result = outsideDomains(
      {
        userName: 'Bob@Gmail.com',
        emails: [
          { value: 'bob@other.com', type: 'work' },
          { value: 'bob@gmail.com', primary: true },
          { value: 'bob@other.com', type: 'work' },
        ],
      },
      allowed,
      false,
    )
    expect(result).toEqual(['Bob@Gmail.com', 'bob@other.com'])
  })

  it('accepts subdomains only when subdomains is on', () => {
    const user = { userName: 'bob@eu.acme.com', emails: [{ value: 'bob@eu.acme.com', type: 'work' }] }
    expect(outsideDomains(user, allowed, true)).toEqual([])
    expect(outsideDomains(user, allowed, false)).toEqual(['bob@eu.acme.com'])
    expect(outsideDomains({ userName: 'bob@notacme.com', emails: [] }, allowed, true)).toEqual(['bob@notacme.com'])
  })

  it('compares internationalized domains in punycode', () => {
    expect(outsideDomains({ userName: 'bob@Bücher.example', emails: [] }, ['xn--bcher-kva.example'], false)).toEqual([])
  })

  it('finds every checked value outside when no domain is allowed (whether to check at all is the policy\'s)', () => {
    expect(outsideDomains({ userName: 'bob@gmail.com', emails: [{ value: 'x@y.com', primary: true }, { value: 'h@z.com', type: 'home' }] }, [], false))
      .toEqual(['bob@gmail.com', 'x@y.com'])
  })
})

describe('verification record and token', () => {
  it('names the record under the domain', () => {
    expect(verificationRecord('acme.com', 'abc')).toEqual({ name: '_roster-verification.acme.com', value: 'roster-verification=abc' })
  })

  it('makes 128-bit base64url tokens', () => {
    const token = newVerificationToken()
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(Buffer.from(token, 'base64url')).toHaveLength(16)
    expect(newVerificationToken()).not.toBe(token)
  })
})

describe('checkDomainVerification', () => {
  const domain = 'acme.com'
  const token = 'tok123'
  const dnsError = (code: string): Error => Object.assign(new Error(`queryTxt ${code}`), { code })
  /** A fake resolver answering from a table; a name missing from it is NXDOMAIN. */
  const fake = (table: Record<string, string[][] | Error>): TxtResolver & { asked: string[] } => {
    const asked: string[] = []
    const resolver = async (name: string): Promise<string[][]> => {
      asked.push(name)
      const answer = table[name]
      if (answer === undefined) throw dnsError('ENOTFOUND')
      if (answer instanceof Error) throw answer
      return answer
    }
    return Object.assign(resolver, { asked })
  }

  it('finds the record at _roster-verification', async () => {
    const resolver = fake({ '_roster-verification.acme.com': [['roster-verification=tok123']] })
    expect(await checkDomainVerification(domain, token, resolver)).toEqual({ state: 'verified' })
    expect(resolver.asked).toEqual(['_roster-verification.acme.com'])
  })

  it('finds the record at the apex among other records', async () => {
    const resolver = fake({ 'acme.com': [['v=spf1 include:_spf.google.com ~all'], ['roster-verification=tok123']] })
    expect(await checkDomainVerification(domain, token, resolver)).toEqual({ state: 'verified' })
    expect(resolver.asked).toEqual(['_roster-verification.acme.com', 'acme.com'])
  })

  it('joins the chunks of a split record and trims it', async () => {
    const resolver = fake({ '_roster-verification.acme.com': [['roster-verif', 'ication=tok', '123 ']] })
    expect(await checkDomainVerification(domain, token, resolver)).toEqual({ state: 'verified' })
  })

  it('compares exactly', async () => {
    const resolver = fake({ '_roster-verification.acme.com': [['roster-verification=TOK123']] })
    expect((await checkDomainVerification(domain, token, resolver)).state).toBe('failed')
  })

  it('fails on a wrong value and shows what it found and what to add', async () => {
    const resolver = fake({ '_roster-verification.acme.com': [['roster-verification=old']], 'acme.com': [['v=spf1 -all']] })
    const result = await checkDomainVerification(domain, token, resolver)
    expect(result.state).toBe('failed')
    if (result.state !== 'failed') return
    expect(result.reason).toContain('"roster-verification=old"')
    expect(result.reason).not.toContain('spf1')
    expect(result.reason).toContain('_roster-verification.acme.com')
    expect(result.reason).toContain('roster-verification=tok123')
  })

  it('fails on a wrong value at the apex', async () => {
    const resolver = fake({ 'acme.com': [['roster-verification=old']] })
    const result = await checkDomainVerification(domain, token, resolver)
    expect(result).toMatchObject({ state: 'failed', reason: expect.stringContaining('"roster-verification=old"') })
  })

  for (const code of ['ENOTFOUND', 'ENODATA']) {
    it(`fails on ${code} naming the record to add`, async () => {
      const resolver = fake({ '_roster-verification.acme.com': dnsError(code), 'acme.com': dnsError('ENODATA') })
      const result = await checkDomainVerification(domain, token, resolver)
      expect(result).toEqual({
        state: 'failed',
        reason: expect.stringMatching(/^No TXT record named _roster-verification\.acme\.com was found\. Add a TXT record named _roster-verification\.acme\.com with the value roster-verification=tok123/),
      })
    })
  }

  it('treats an empty answer as no record', async () => {
    const result = await checkDomainVerification(domain, token, fake({ '_roster-verification.acme.com': [] }))
    expect(result).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^No TXT record/) })
  })

  for (const code of ['ESERVFAIL', 'ETIMEOUT', 'ECONNREFUSED']) {
    it(`fails on ${code} asking to try again`, async () => {
      const resolver = fake({ '_roster-verification.acme.com': dnsError(code) })
      const result = await checkDomainVerification(domain, token, resolver)
      expect(result).toMatchObject({ state: 'failed', reason: expect.stringContaining(`failed (${code}); try again`) })
    })
  }

  it('still verifies at the apex when the label lookup errs', async () => {
    const resolver = fake({ '_roster-verification.acme.com': dnsError('ESERVFAIL'), 'acme.com': [['roster-verification=tok123']] })
    expect(await checkDomainVerification(domain, token, resolver)).toEqual({ state: 'verified' })
  })

  it('fails after timeoutMs when the resolver never answers', async () => {
    const never: TxtResolver = () => new Promise(() => {})
    const started = Date.now()
    const result = await checkDomainVerification(domain, token, never, { timeoutMs: 20 })
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(result).toMatchObject({ state: 'failed', reason: expect.stringMatching(/did not answer within 20 ms; try again/) })
  })

  it('times out when the apex lookup never answers', async () => {
    let calls = 0
    const resolver: TxtResolver = async () => {
      calls += 1
      if (calls === 1) throw dnsError('ENODATA')
      return new Promise(() => {})
    }
    const result = await checkDomainVerification(domain, token, resolver, { timeoutMs: 20 })
    expect(result).toMatchObject({ state: 'failed', reason: expect.stringContaining('did not answer') })
  })

  it('never throws, even when the resolver throws synchronously or without a code', async () => {
    const sync: TxtResolver = () => {
      throw new Error('boom')
    }
    expect(await checkDomainVerification(domain, token, sync)).toMatchObject({ state: 'failed', reason: expect.stringContaining('(boom)') })
    const odd: TxtResolver = () => Promise.reject('weird')
    expect(await checkDomainVerification(domain, token, odd)).toMatchObject({ state: 'failed', reason: expect.stringContaining('(weird)') })
  })

  it('refuses an empty token', async () => {
    const resolver = fake({ '_roster-verification.acme.com': [['roster-verification=']] })
    expect((await checkDomainVerification(domain, '', resolver)).state).toBe('failed')
  })
})
