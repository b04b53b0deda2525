import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PersonRole, Role } from '../src/protocol/api.ts';
import { apiRoutes } from '../src/server/http/app.ts';
import { PERMISSIONS, ruleOf, type Rule } from '../src/protocol/permissions.ts';
import type { RouteSpec } from '../src/server/http/route.ts';
import { backends } from './support/backends.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * Every route of the API × every kind of caller × its own project and another one, answered by
 * the real server, compared with what the permission table says. The expectation is computed
 * from the table's row alone, so a route whose guard drifts from its row fails here.
 */

const PERSON_ROLES: PersonRole[] = ['viewer', 'deployer', 'approver', 'admin'];
const RANK: Record<PersonRole, number> = { viewer: 0, deployer: 1, approver: 2, admin: 3 };

interface Caller {
  label: string;
  secret: string;
  /** Global role (runner: the build runner; agent: a host agent of the own project). */
  role: Role;
  /** A membership's role on the own project. */
  member?: PersonRole;
  /** A token scoped to the own project. */
  scoped?: boolean;
}

type Outcome = 'allowed' | 'forbidden' | 'hidden';

/** What the table says `caller` gets on `rule`, on the own or the other project (or no project). */
function expected(rule: Rule, caller: Caller, project: 'own' | 'other' | null): Outcome {
  if (rule.role === 'public') return 'allowed';
  if (caller.role === 'agent') return rule.role === 'agent' ? 'allowed' : 'forbidden';
  if (rule.role === 'agent') return 'forbidden';
  if (caller.role === 'runner') return rule.runner ? 'allowed' : 'forbidden';
  if (rule.role === 'runner') return 'forbidden';
  const required = RANK[rule.role];
  if (project !== null) {
    if (caller.scoped === true && project === 'other') return 'hidden';
    const member = project === 'own' && caller.member !== undefined ? RANK[caller.member] : -1;
    return Math.max(RANK[caller.role], member) >= required ? 'allowed' : 'forbidden';
  }
  if (caller.scoped === true && !rule.scoped) return 'forbidden';
  return RANK[caller.role] >= required ? 'allowed' : 'forbidden';
}

function outcomeOf(rule: Rule, status: number, code: string | undefined): Outcome | 'unauthenticated' {
  // A public route's own answer may be 401 (GET /session without a session): it was reached.
  if (status === 401) return rule.role === 'public' ? 'allowed' : 'unauthenticated';
  if (status === 403 && code === 'FORBIDDEN') return 'forbidden';
  if (status === 404 && code === 'PROJECT_NOT_FOUND') return 'hidden';
  return 'allowed';
}

function pathOf(spec: RouteSpec, project: string): string {
  return spec.url.replace(/:([a-zA-Z]+)/g, (_m, name: string) => (name === 'project' ? project : `none-${name.toLowerCase()}`));
}

const backend = backends[0];
if (backend === undefined) throw new Error('no test backend');

describe(`permission table, every route × role × project (${backend.name})`, () => {
  let t: TestServer;
  const callers: Caller[] = [];
  let specs: RouteSpec[];

  before(async () => {
    t = await startTestServer(backend);
    specs = apiRoutes(t.server.deps);
    await t.client.createProject('own');
    await t.client.createProject('other');
    for (const role of PERSON_ROLES) {
      // A person with the least global role, raised on their own project by a membership.
      const name = `member-${role}`;
      await t.client.createUser({ name, emails: [`${name}@example.com`], role: 'viewer' });
      await t.client.setMember('own', name, { role });
      const personal = await t.client.createToken({ name: `${name}-laptop`, user: name });
      callers.push({ label: `user, ${role} on own`, secret: personal.secret, role: 'viewer', member: role });
      // A service token with the role everywhere, and one scoped to the own project.
      const global = await t.client.createToken({ name: `global-${role}`, role });
      callers.push({ label: `token, ${role}`, secret: global.secret, role });
      const scoped = await t.client.createToken({ name: `scoped-${role}`, role, project: 'own' });
      callers.push({ label: `token, ${role}, own only`, secret: scoped.secret, role, scoped: true });
    }
    const runner = await t.client.createToken({ name: 'runner', role: 'runner' });
    callers.push({ label: 'runner', secret: runner.secret, role: 'runner' });
    // A host agent of the own project: its credential reaches the agent routes and nothing else.
    const enrollment = await t.client.createEnrollment('own', 'production');
    const agent = await t.client.enrollAgent({ token: enrollment.token, name: 'host-1', version: '0.1.0', address: '127.0.0.1', port: 8080 });
    callers.push({ label: 'agent', secret: agent.credential, role: 'agent' });
  });
  after(() => t.dispose());

  test('every route has exactly one row, and every row a route', () => {
    const routes = new Set(specs.map((s) => `${s.method} ${s.url}`));
    assert.equal(routes.size, specs.length, 'no route is declared twice');
    assert.deepEqual([...routes].filter((r) => !(r in PERMISSIONS)), [], 'routes without a row');
    assert.deepEqual(Object.keys(PERMISSIONS).filter((r) => !routes.has(r)), [], 'rows without a route');
  });

  test('every caller gets what the table says, on its own project and on another', async () => {
    const mismatches: string[] = [];
    let requests = 0;
    for (const spec of specs) {
      const rule = ruleOf(spec.method, spec.url);
      assert.ok(rule, `${spec.method} ${spec.url}`);
      const projects: ('own' | 'other' | null)[] = spec.url.includes('/:project') ? ['own', 'other'] : [null];
      for (const project of projects) {
        for (const caller of callers) {
          const want = expected(rule, caller, project);
          const headers: Record<string, string> = { authorization: `Bearer ${caller.secret}` };
          let body: BodyInit | undefined;
          if (spec.method !== 'GET' && spec.method !== 'DELETE') {
            // Bodies that pass no schema: an allowed call is refused by validation, and changes nothing.
            const type = spec.accepts?.[0] ?? 'application/json';
            headers['content-type'] = type;
            body = type === 'application/json' ? '{"__probe": true}' : type === 'multipart/form-data' ? 'x' : '';
            if (type === 'multipart/form-data') headers['content-type'] = 'multipart/form-data; boundary=probe';
          }
          const response = await fetch(`${t.server.url}${pathOf(spec, project ?? 'own')}`, { method: spec.method, headers, body });
          // A stream (GET /api/v1/stream) answers for as long as it is read: its headers say enough.
          const streaming = response.headers.get('content-type')?.startsWith('text/event-stream') === true;
          const text = streaming ? '' : await response.text();
          if (streaming) await response.body?.cancel();
          requests++;
          const code = text.startsWith('{') ? (JSON.parse(text) as { error?: { code?: string } }).error?.code : undefined;
          assert.notEqual(code === 'NOT_FOUND' && text.includes('no route'), true, `${spec.method} ${spec.url} is not served`);
          const got = outcomeOf(rule, response.status, code);
          if (got !== want) mismatches.push(`${spec.method} ${spec.url} [${project ?? '-'}] as ${caller.label}: table says ${want}, server said ${response.status} ${code ?? ''}`);
        }
      }
    }
    assert.deepEqual(mismatches, []);
    assert.ok(requests > 500, `walked ${requests} requests`);
  });

  test('a request without credentials is refused on every route but the public ones', async () => {
    for (const spec of specs) {
      const rule = ruleOf(spec.method, spec.url);
      if (rule?.role === 'public') continue;
      const type = spec.accepts?.[0];
      const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type === 'multipart/form-data' ? `${type}; boundary=probe` : type };
      const response = await fetch(`${t.server.url}${pathOf(spec, 'own')}`, { method: spec.method, headers });
      assert.equal(response.status, 401, `${spec.method} ${spec.url}`);
    }
  });
});
