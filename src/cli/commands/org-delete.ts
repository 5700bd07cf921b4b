// `roster org delete ORG [--yes]`: deletes an organization and everything it holds
// (provisioning/org-delete.ts). Without --yes (or --force) it says what will go and asks for the
// organization's name on standard input, as a person types it; anything else, or no answer (a
// script without a terminal), deletes nothing and exits 1. The question goes to standard error,
// so `--json` keeps standard output to the one answer.
import { createInterface } from 'node:readline'
import { deleteOrg, type OrgDeleted } from '../../provisioning/org-delete.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { OrgError, findOrg } from '../../provisioning/orgs.ts'

/** One line of standard input, or null at its end. */
function readLine(): Promise<string | null> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, terminal: false })
    let answered = false
    rl.once('line', (line) => {
      answered = true
      rl.close()
      resolve(line)
    })
    rl.once('close', () => {
      if (!answered) resolve(null)
    })
  })
}

export async function orgDeleteCommand(
  deps: Deps, idOrName: string, opts: { yes: boolean }, print: (value: unknown, text: string) => void,
): Promise<number> {
  const org = await findOrg(deps, idOrName)
  if (!opts.yes) {
    process.stderr.write([
      `This deletes the organization "${org.name}" (${org.id}) and everything it holds: its users, groups, memberships,`,
      'domains, settings, declared schemas, webhooks, invitations, events, provisioning log, console members, SCIM tokens',
      'and API keys (refused at once). Only the audit entry of the deletion stays. It cannot be undone.',
      `Type the organization's name to confirm: `,
    ].join('\n'))
    const answer = await readLine()
    // A terminal echoed the answer and its newline; piped input did not.
    if (answer === null || !process.stdin.isTTY) process.stderr.write('\n')
    if (answer?.trim() !== org.name) {
      throw new OrgError('ROSTER_ERR_ORG_NOT_CONFIRMED', `Nothing was deleted: ${answer === null ? 'no answer was typed' : 'the name typed does not match'}. Run it again, or pass --yes`)
    }
  }
  const r = await deleteOrg(deps, org.id)
  print(r, formatDeleted(r))
  return 0
}

function formatDeleted(r: OrgDeleted): string {
  const d = r.deleted
  return [
    `Deleted the organization "${r.name}" (${r.orgId}): ${d.users} users, ${d.groups} groups, ${d.memberships} memberships, ${d.domains} domains,`,
    `${d.scimTokens} SCIM tokens, ${d.apiKeys} API keys, ${d.webhooks} webhooks, ${d.invitations} invitations, ${d.events} events,`,
    `${d.logRows} provisioning log rows, ${d.consoleMembers} console members (${d.consoleAccounts} accounts with no other organization).`,
    `The audit entry of the deletion stays: roster org audit ${r.orgId}`,
  ].join('\n')
}
