import type { SlipwayClient } from '../../src/protocol/client.ts';
import { projectIdOf } from './pipeline.ts';
import type { TestServer } from './server.ts';

/**
 * People for the approval tests: a user with emails and a global role, signed in with a
 * personal token, and commits that carry an author's email.
 */

export type PersonRole = 'viewer' | 'deployer' | 'approver' | 'admin';

/** Creates a user (as the admin; with a password, they may sign in to the dashboard) and returns a client acting with that user's personal token. */
export async function createPerson(t: TestServer, name: string, role: PersonRole, emails: string[] = [], password?: string): Promise<{ client: SlipwayClient; secret: string }> {
  await t.client.createUser({ name, emails, role, ...(password === undefined ? {} : { password }) });
  const { secret } = await t.client.createToken({ name: `${name}-laptop`, user: name });
  return { client: t.clientWith(secret), secret };
}

/** A project role for a user, above their global one. */
export async function addMember(t: TestServer, project: string, user: string, role: PersonRole): Promise<void> {
  await t.client.setMember(project, user, { role });
}

/** Records commits (oldest first, each the parent of the next) with the author emails given. */
export async function recordAuthoredChain(t: TestServer, project: string, chain: readonly { sha: string; email: string; name?: string }[], parent: string | null = null): Promise<void> {
  let previous = parent;
  const rows = chain.map((c, i) => {
    const row = {
      sha: c.sha,
      parents: previous === null ? [] : [previous],
      authorName: c.name ?? c.email.split('@')[0] ?? c.email,
      authorEmail: c.email,
      message: `change ${i + 1} by ${c.email}`,
      committedAt: new Date().toISOString(),
    };
    previous = c.sha;
    return row;
  });
  await t.server.deps.store.insertCommits(await projectIdOf(t, project), rows, new Date().toISOString());
}
