import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../src/core/clock.ts';
import type { Event, PersonRole } from '../src/protocol/api.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { backends } from './support/backends.ts';
import { rejectsWithCode } from './support/assert.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

/**
 * Users, memberships, tokens and dashboard sessions end to end: a real server on each backend,
 * spoken to over HTTP as the people it knows, with the server's clock moved forward for what
 * expires. Every refusal is checked for its stable code and for leaving everything as it was.
 */

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'tr0ub4dor and three more words';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The server's clock: real time plus however far a test has moved it on. */
class ShiftedClock implements Clock {
  private offset = 0;
  now(): Date {
    return new Date(Date.now() + this.offset);
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

interface Answer {
  status: number;
  code: string | undefined;
  body: unknown;
  headers: Headers;
}

interface Browser {
  cookie: string;
  csrf: string;
}

for (const backend of backends) {
  describe(`users, memberships, tokens and sessions on ${backend.name}`, () => {
    let t: TestServer;
    const clock = new ShiftedClock();

    before(async () => {
      t = await startTestServer(backend, { clock });
      await t.client.createProject('alpha');
      await t.client.createProject('beta');
    });
    after(() => t.dispose());

    /** A user (email `<name>@example.com`) and a client speaking as them with a personal token. */
    async function person(name: string, role: PersonRole, options: { password?: boolean } = {}) {
      const user = await t.client.createUser({ name, emails: [`${name}@example.com`], role, ...(options.password === true ? { password: PASSWORD } : {}) });
      const created = await t.client.createToken({ name: `${name}-laptop`, user: name });
      return { user, client: t.clientWith(created.secret), token: created.token, secret: created.secret };
    }

    async function call(method: string, path: string, options: { cookie?: string; csrf?: string; token?: string; body?: unknown } = {}): Promise<Answer> {
      const headers: Record<string, string> = {};
      if (options.cookie !== undefined) headers.cookie = `slipway_session=${options.cookie}`;
      if (options.csrf !== undefined) headers['x-slipway-csrf'] = options.csrf;
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${t.server.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
      const text = await response.text();
      const body: unknown = text === '' ? undefined : JSON.parse(text);
      const code = (body as { error?: { code?: string } } | undefined)?.error?.code;
      return { status: response.status, code, body, headers: response.headers };
    }

    /** Signs in through the API as a browser does; the cookie comes from Set-Cookie. */
    async function signIn(email: string, password: string): Promise<Answer & { browser?: Browser; setCookie: string | null }> {
      const answer = await call('POST', '/api/v1/session', { body: { email, password } });
      const setCookie = answer.headers.get('set-cookie');
      if (answer.status !== 200) return { ...answer, setCookie };
      const cookie = /^slipway_session=([^;]+)/.exec(setCookie ?? '')?.[1];
      assert.ok(cookie, `a session cookie in ${setCookie}`);
      return { ...answer, setCookie, browser: { cookie, csrf: (answer.body as { csrf: string }).csrf } };
    }

    async function signedIn(email: string, password = PASSWORD): Promise<Browser> {
      const answer = await signIn(email, password);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.ok(answer.browser);
      return answer.browser;
    }

    async function events(action: string, target?: string): Promise<Event[]> {
      const { events } = await t.client.listEvents({ limit: 500 });
      return events.filter((e) => e.action === action && (target === undefined || e.target === target));
    }

    /** Everything the API says about users, for before/after comparisons. */
    async function userState(): Promise<string> {
      const { users } = await t.client.listUsers();
      const full = await Promise.all(users.map((u) => t.client.getUser(u.name)));
      return JSON.stringify(full);
    }

    /** The per-address sign-in limiter forgets failures older than ten minutes. */
    function freshAddressWindow(): void {
      clock.advance(10 * MINUTE + 1000);
    }

    test('a user is created with emails (lowercased) and a role; refusals carry their code and change nothing', async () => {
      const ada = await t.client.createUser({ name: 'ada', emails: ['Ada@Example.com', 'ada@work.example', 'ADA@example.com'], role: 'deployer', password: PASSWORD });
      assert.equal(ada.name, 'ada');
      assert.equal(ada.role, 'deployer');
      assert.deepEqual([...ada.emails].sort(), ['ada@example.com', 'ada@work.example']);
      assert.equal(ada.hasPassword, true);
      assert.equal(ada.disabled, false);
      assert.equal(ada.createdBy, 'admin');
      assert.equal((await t.client.getUser('ada')).id, ada.id);
      assert.equal((await t.client.getUser(ada.id)).name, 'ada');

      const deployer = await person('dora', 'deployer');
      const state = await userState();
      const refusals: [Parameters<SlipwayClient['createUser']>[0], string, number][] = [
        [{ name: 'ada', emails: ['someone-else@example.com'] }, 'USER_EXISTS', 409],
        [{ name: 'bob', emails: ['ADA@EXAMPLE.COM'] }, 'EMAIL_TAKEN', 409],
        [{ name: 'bob', emails: ['bob@example.com', 'ada@Work.Example'] }, 'EMAIL_TAKEN', 409],
        [{ name: 'bob', emails: ['not-an-email'] }, 'INVALID_REQUEST', 400],
        [{ name: 'bob', emails: ['bob@exa mple.com'] }, 'INVALID_REQUEST', 400],
        [{ name: 'bob', emails: ['<bob@example.com>'] }, 'INVALID_REQUEST', 400],
        [{ name: 'bob', emails: [`${'b'.repeat(250)}@example.com`] }, 'INVALID_REQUEST', 400],
        [{ name: 'Bob', emails: [] }, 'INVALID_NAME', 400],
        [{ name: '-bob', emails: [] }, 'INVALID_NAME', 400],
        [{ name: 'bob/../admin', emails: [] }, 'INVALID_NAME', 400],
        [{ name: 'bob smith', emails: [] }, 'INVALID_NAME', 400],
        [{ name: 'b'.repeat(41), emails: [] }, 'INVALID_REQUEST', 400],
        [{ name: 'bob', emails: [], password: 'short' }, 'PASSWORD_WEAK', 400],
        [{ name: 'bob', emails: [], password: 'bob-bob-bob' }, 'PASSWORD_WEAK', 400],
        [{ name: 'bob', emails: [], role: 'runner' as PersonRole }, 'INVALID_REQUEST', 400],
      ];
      for (const [body, code, status] of refusals) {
        await rejectsWithCode(t.client.createUser(body), code, status);
      }
      await rejectsWithCode(deployer.client.createUser({ name: 'bob', emails: ['bob@example.com'] }), 'FORBIDDEN', 403);
      assert.equal(await userState(), state, 'no refusal changed a user or an email');
      assert.deepEqual(
        (await events('user.create')).map((e) => (e.after as { name: string }).name).sort(),
        ['ada', 'dora'],
        'one user.create per user made, none for a refusal',
      );

      // The emails a refused request named are still free.
      const bob = await t.client.createUser({ name: 'bob', emails: ['bob@example.com'] });
      assert.equal(bob.hasPassword, false);
      assert.equal(bob.role, 'viewer');
    });

    test('an admin changes a user: role, emails; disabling refuses their tokens and sessions, enabling brings the tokens back', async () => {
      const cy = await person('cy', 'viewer', { password: true });
      assert.equal((await cy.client.whoami()).actor.role, 'viewer');
      await rejectsWithCode(cy.client.lock('alpha', 'staging', { reason: 'hold' }), 'FORBIDDEN', 403);

      const raised = await t.client.updateUser('cy', { role: 'deployer' });
      assert.equal(raised.role, 'deployer');
      assert.equal((await cy.client.whoami()).actor.role, 'deployer', 'the same token acts with the new role at once');
      await cy.client.lock('alpha', 'staging', { reason: 'hold' });
      await cy.client.unlock('alpha', 'staging', {});

      const moved = await t.client.updateUser('cy', { addEmails: ['Cy@Other.Example'], removeEmails: ['cy@example.com'] });
      assert.deepEqual(moved.emails, ['cy@other.example']);

      const state = await userState();
      await rejectsWithCode(t.client.updateUser('cy', { addEmails: ['ada@example.com'], removeEmails: ['cy@other.example'] }), 'EMAIL_TAKEN', 409);
      await rejectsWithCode(t.client.updateUser('cy', { removeEmails: ['ada@example.com'] }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.updateUser('cy', { addEmails: ['nope'] }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.updateUser('cy', { role: 'runner' as PersonRole }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.updateUser('nobody', { role: 'admin' }), 'USER_NOT_FOUND', 404);
      await rejectsWithCode(cy.client.updateUser('cy', { role: 'admin' }), 'FORBIDDEN', 403);
      assert.equal(await userState(), state, 'no refused change changed anything');

      const browser = await signedIn('CY@other.example');
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: browser.cookie })).status, 200);

      const disabled = await t.client.updateUser('cy', { disabled: true });
      assert.equal(disabled.disabled, true);
      await rejectsWithCode(cy.client.whoami(), 'UNAUTHENTICATED', 401);
      await rejectsWithCode(cy.client.lock('alpha', 'staging', { reason: 'hold' }), 'UNAUTHENTICATED', 401);
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: browser.cookie })).code, 'UNAUTHENTICATED');
      const refused = await signIn('cy@other.example', PASSWORD);
      assert.equal(refused.status, 401);
      assert.equal(refused.code, 'SIGN_IN_FAILED', 'a disabled user cannot sign in, and is not told why');

      await t.client.updateUser('cy', { disabled: false });
      assert.equal((await cy.client.whoami()).actor.name, 'cy', 'the personal token works again');
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: browser.cookie })).code, 'UNAUTHENTICATED', 'a session ended by disabling stays ended');
      await signedIn('cy@other.example');

      assert.equal((await events('user.update', cy.user.id)).length, 2);
      assert.equal((await events('user.disable', cy.user.id)).length, 1);
      assert.equal((await events('user.enable', cy.user.id)).length, 1);
    });

    test('a membership raises a role on one project only, is a project admin\'s to manage, and goes at once', async () => {
      const dee = await person('dee', 'viewer');
      const eve = await person('eve', 'viewer');
      const alphaBuild = await deployFiles(t.client, 'alpha', { 'index.html': 'alpha' });
      const betaBuild = await deployFiles(t.client, 'beta', { 'index.html': 'beta' });

      const added = await t.client.setMember('alpha', 'dee', { role: 'deployer' });
      assert.deepEqual({ project: added.project, user: added.user, role: added.role }, { project: 'alpha', user: 'dee', role: 'deployer' });
      assert.deepEqual((await t.client.listMembers('alpha')).members.map((m) => [m.user, m.role]), [['dee', 'deployer']]);
      assert.deepEqual((await t.client.getUser('dee')).memberships?.map((m) => [m.project, m.role]), [['alpha', 'deployer']]);

      await dee.client.promote('alpha', 'staging', { deployment: alphaBuild.id });
      await dee.client.lock('alpha', 'production', { reason: 'release day' });
      await rejectsWithCode(dee.client.promote('beta', 'staging', { deployment: betaBuild.id }), 'FORBIDDEN', 403);
      await rejectsWithCode(dee.client.lock('beta', 'production', { reason: 'release day' }), 'FORBIDDEN', 403);
      assert.equal((await dee.client.getProjectStatus('beta')).project.name, 'beta', 'a viewer still sees the other project');

      await rejectsWithCode(eve.client.promote('alpha', 'production', { deployment: alphaBuild.id }), 'FORBIDDEN', 403);
      await rejectsWithCode(dee.client.setMember('alpha', 'eve', { role: 'viewer' }), 'FORBIDDEN', 403);
      await rejectsWithCode(dee.client.removeMember('alpha', 'dee'), 'FORBIDDEN', 403);
      await rejectsWithCode(dee.client.setPolicy('alpha', 'production', { auto: false }), 'FORBIDDEN', 403);
      assert.deepEqual((await t.client.listMembers('alpha')).members.map((m) => m.user), ['dee']);

      // A project admin by membership manages that project's members, and no other's.
      await t.client.setMember('alpha', 'eve', { role: 'admin' });
      await eve.client.setMember('alpha', 'dee', { role: 'approver' });
      await rejectsWithCode(eve.client.setMember('beta', 'dee', { role: 'deployer' }), 'FORBIDDEN', 403);
      await rejectsWithCode(eve.client.createUser({ name: 'mallory', emails: [] }), 'FORBIDDEN', 403);

      await eve.client.removeMember('alpha', 'dee');
      await rejectsWithCode(dee.client.unlock('alpha', 'production', {}), 'FORBIDDEN', 403);
      assert.equal((await dee.client.whoami()).user?.memberships?.length, 0);

      await rejectsWithCode(t.client.removeMember('alpha', 'dee'), 'MEMBER_NOT_FOUND', 404);
      await rejectsWithCode(t.client.removeMember('beta', 'eve'), 'MEMBER_NOT_FOUND', 404);
      await rejectsWithCode(t.client.removeMember('alpha', 'nobody'), 'USER_NOT_FOUND', 404);
      await rejectsWithCode(t.client.setMember('alpha', 'nobody', { role: 'viewer' }), 'USER_NOT_FOUND', 404);
      await rejectsWithCode(t.client.setMember('gamma', 'dee', { role: 'viewer' }), 'PROJECT_NOT_FOUND', 404);
      await rejectsWithCode(t.client.setMember('alpha', 'dee', { role: 'runner' as PersonRole }), 'INVALID_REQUEST', 400);
      assert.deepEqual((await t.client.listMembers('alpha')).members.map((m) => m.user), ['eve']);

      const [add] = await events('membership.add', dee.user.id);
      assert.equal(add?.project, 'alpha');
      assert.deepEqual(add?.after, { user: 'dee', role: 'deployer' });
      const [update] = await events('membership.update', dee.user.id);
      assert.equal(update?.actor, 'eve');
      assert.deepEqual([update?.before, update?.after], [{ user: 'dee', role: 'deployer' }, { user: 'dee', role: 'approver' }]);
      const removes = await events('membership.remove', dee.user.id);
      assert.equal(removes.length, 1, 'a refused removal records nothing');
      assert.deepEqual(removes[0]?.before, { user: 'dee', role: 'approver' });
    });

    test('tokens: personal ones act as their user; scoped ones reach one project; expired and revoked ones are refused', async () => {
      const fay = await person('fay', 'deployer');
      const gus = await person('gus', 'viewer');
      const me = await fay.client.whoami();
      assert.deepEqual([me.actor.name, me.actor.role, me.actor.via, me.user?.name, me.token?.user], ['fay', 'deployer', 'token', 'fay', 'fay']);
      await fay.client.lock('beta', 'qa', { reason: 'fay holds qa' });
      await fay.client.unlock('beta', 'qa', {});

      // Anyone makes personal tokens of their own; service tokens and others' tokens are an admin's.
      const own = await fay.client.createToken({ name: 'fay-ci' });
      assert.equal(own.token.user, 'fay');
      assert.equal((await t.clientWith(own.secret).whoami()).actor.name, 'fay');
      await rejectsWithCode(fay.client.createToken({ name: 'svc', role: 'admin' }), 'FORBIDDEN', 403);
      await rejectsWithCode(fay.client.createToken({ name: 'for-gus', user: 'gus' }), 'FORBIDDEN', 403);
      await rejectsWithCode(fay.client.createToken({ name: 'both', user: 'fay', role: 'viewer' }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.createToken({ name: 'nobody', user: 'nobody' }), 'USER_NOT_FOUND', 404);

      // A personal token follows its user's roles, including a raise by membership.
      await t.client.setMember('alpha', 'gus', { role: 'deployer' });
      await gus.client.lock('alpha', 'qa', { reason: 'gus holds qa' });
      await gus.client.unlock('alpha', 'qa', {});
      await rejectsWithCode(gus.client.lock('beta', 'qa', { reason: 'no' }), 'FORBIDDEN', 403);

      // A service token scoped to alpha: alpha alone exists for it.
      const ci = await t.client.createToken({ name: 'alpha-ci', role: 'deployer', project: 'alpha' });
      assert.equal(ci.token.project, 'alpha');
      const scoped = t.clientWith(ci.secret);
      assert.deepEqual((await scoped.listProjects()).projects.map((p) => p.name), ['alpha']);
      assert.equal((await scoped.whoami()).scope, 'alpha');
      await scoped.lock('alpha', 'qa', { reason: 'ci holds qa' });
      await scoped.unlock('alpha', 'qa', {});
      await rejectsWithCode(scoped.getProjectStatus('beta'), 'PROJECT_NOT_FOUND', 404);
      await rejectsWithCode(scoped.lock('beta', 'qa', { reason: 'no' }), 'PROJECT_NOT_FOUND', 404);
      await rejectsWithCode(scoped.listMembers('beta'), 'PROJECT_NOT_FOUND', 404);
      await rejectsWithCode(scoped.listEvents(), 'FORBIDDEN', 403);
      await rejectsWithCode(scoped.listUsers(), 'FORBIDDEN', 403);
      await rejectsWithCode(scoped.getUser('fay'), 'FORBIDDEN', 403);
      await rejectsWithCode(scoped.listTokens(), 'FORBIDDEN', 403);
      await rejectsWithCode(scoped.createToken({ name: 'escape' }), 'FORBIDDEN', 403);
      await rejectsWithCode(scoped.createProject('delta'), 'FORBIDDEN', 403);

      // A personal token scoped to alpha: gus's membership there, nothing elsewhere.
      const gusAlpha = await t.client.createToken({ name: 'gus-alpha', user: 'gus', project: 'alpha' });
      const gusScoped = t.clientWith(gusAlpha.secret);
      await gusScoped.lock('alpha', 'qa', { reason: 'scoped gus' });
      await gusScoped.unlock('alpha', 'qa', {});
      await rejectsWithCode(gusScoped.getProjectStatus('beta'), 'PROJECT_NOT_FOUND', 404);
      await rejectsWithCode(gusScoped.listTokens(), 'FORBIDDEN', 403);

      // Expiry by the server's clock.
      const short = await t.client.createToken({ name: 'short', role: 'viewer', expires: '1h' });
      const shortPersonal = await fay.client.createToken({ name: 'fay-short', expires: '2h' });
      assert.ok(short.token.expiresAt);
      assert.equal((await t.clientWith(short.secret).whoami()).actor.name, 'short');
      await rejectsWithCode(t.client.createToken({ name: 'bad', role: 'viewer', expires: 'forever' }), 'INVALID_DURATION', 400);
      await rejectsWithCode(t.client.createToken({ name: 'bad', role: 'viewer', expires: '0s' }), 'INVALID_DURATION', 400);
      clock.advance(HOUR + 1000);
      await rejectsWithCode(t.clientWith(short.secret).whoami(), 'UNAUTHENTICATED', 401);
      assert.equal((await t.clientWith(shortPersonal.secret).whoami()).actor.name, 'fay');
      clock.advance(HOUR);
      await rejectsWithCode(t.clientWith(shortPersonal.secret).whoami(), 'UNAUTHENTICATED', 401);
      assert.ok(!(await t.client.listTokens()).tokens.some((t) => t.name === 'bad'), 'a refused token was not made');

      // A person sees and revokes their own tokens only; someone else's is not even named.
      const fays = (await fay.client.listTokens()).tokens;
      assert.ok(fays.length >= 3);
      assert.ok(fays.every((tok) => tok.user === 'fay'));
      await rejectsWithCode(fay.client.revokeToken(gus.token.id), 'TOKEN_NOT_FOUND', 404);
      await rejectsWithCode(fay.client.revokeToken(ci.token.id), 'TOKEN_NOT_FOUND', 404);
      await rejectsWithCode(fay.client.revokeToken('tok-doesnotexist'), 'TOKEN_NOT_FOUND', 404);
      assert.equal((await gus.client.whoami()).actor.name, 'gus', "gus's token survived fay's attempt");
      const revoked = await fay.client.revokeToken(own.token.id);
      assert.ok(revoked.revokedAt);
      await rejectsWithCode(t.clientWith(own.secret).whoami(), 'UNAUTHENTICATED', 401);
      assert.equal((await fay.client.whoami()).actor.name, 'fay', 'her other tokens still work');
      await t.client.revokeToken(ci.token.id);
      await rejectsWithCode(scoped.listProjects(), 'UNAUTHENTICATED', 401);
      assert.ok((await events('token.revoke')).some((e) => e.target === ci.token.id));
    });

    test('sign-in sets an HttpOnly, SameSite=Strict session cookie; writes need the CSRF token; signing out ends it', async () => {
      const hal = await person('hal', 'viewer', { password: true });
      await t.client.setMember('alpha', 'hal', { role: 'deployer' });

      const ok = await signIn('Hal@Example.com', PASSWORD);
      assert.equal(ok.status, 200);
      const attributes = (ok.setCookie ?? '').split(';').map((a) => a.trim());
      assert.ok(attributes[0]?.startsWith('slipway_session=sls_'));
      assert.ok(attributes.includes('HttpOnly'), ok.setCookie ?? '');
      assert.ok(attributes.includes('SameSite=Strict'), ok.setCookie ?? '');
      assert.ok(attributes.includes('Path=/'), ok.setCookie ?? '');
      const session = ok.body as { user: { name: string }; csrf: string; expiresAt: string };
      assert.equal(session.user.name, 'hal');
      assert.ok(session.csrf.length >= 32);
      assert.ok(!JSON.stringify(ok.body).includes(ok.browser?.cookie ?? '-'), 'the cookie secret is not in the body');
      const browser = ok.browser;
      assert.ok(browser);

      const wrong = await signIn('hal@example.com', 'not the password at all');
      const unknown = await signIn('nobody@example.com', PASSWORD);
      for (const refused of [wrong, unknown]) {
        assert.equal(refused.status, 401);
        assert.equal(refused.code, 'SIGN_IN_FAILED');
        assert.equal(refused.setCookie, null);
      }
      assert.equal((wrong.body as { error: { message: string } }).error.message, (unknown.body as { error: { message: string } }).error.message);
      assert.equal((await call('POST', '/api/v1/session', { body: { email: 'hal@example.com' } })).code, 'INVALID_REQUEST');

      const whoami = await call('GET', '/api/v1/whoami', { cookie: browser.cookie });
      assert.equal(whoami.status, 200);
      const who = whoami.body as { actor: { name: string; via: string }; token: unknown };
      assert.deepEqual([who.actor.name, who.actor.via, who.token], ['hal', 'session', null]);
      const current = await call('GET', '/api/v1/session', { cookie: browser.cookie });
      assert.equal((current.body as { csrf: string }).csrf, browser.csrf);

      const lock = '/api/v1/projects/alpha/environments/sessions/lock';
      const locked = async () => (await t.client.getEnvironment('alpha', 'sessions').catch(() => undefined))?.lock ?? null;
      const noCsrf = await call('POST', lock, { cookie: browser.cookie, body: { reason: 'from the browser' } });
      assert.deepEqual([noCsrf.status, noCsrf.code], [403, 'CSRF_FAILED']);
      const badCsrf = await call('POST', lock, { cookie: browser.cookie, csrf: `${browser.csrf.slice(0, -1)}x`, body: { reason: 'from the browser' } });
      assert.deepEqual([badCsrf.status, badCsrf.code], [403, 'CSRF_FAILED']);
      const otherCsrf = await call('POST', lock, { cookie: browser.cookie, csrf: (await signedIn('hal@example.com')).csrf, body: { reason: 'from the browser' } });
      assert.deepEqual([otherCsrf.status, otherCsrf.code], [403, 'CSRF_FAILED'], "another session's CSRF token does not do");
      assert.equal(await locked(), null, 'a refused write changed nothing');
      const good = await call('POST', lock, { cookie: browser.cookie, csrf: browser.csrf, body: { reason: 'from the browser' } });
      assert.equal(good.status, 200, JSON.stringify(good.body));
      assert.ok(await locked());
      // The session acts with hal's role: a deployer on alpha, a viewer on beta.
      const beta = await call('POST', '/api/v1/projects/beta/environments/sessions/lock', { cookie: browser.cookie, csrf: browser.csrf, body: { reason: 'no' } });
      assert.deepEqual([beta.status, beta.code], [403, 'FORBIDDEN']);

      const outNoCsrf = await call('DELETE', '/api/v1/session', { cookie: browser.cookie });
      assert.equal(outNoCsrf.code, 'CSRF_FAILED');
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: browser.cookie })).status, 200, 'a refused sign-out ends nothing');
      const out = await call('DELETE', '/api/v1/session', { cookie: browser.cookie, csrf: browser.csrf });
      assert.equal(out.status, 204);
      assert.match(out.headers.get('set-cookie') ?? '', /^slipway_session=;.*Max-Age=0/);
      const after = await call('GET', '/api/v1/whoami', { cookie: browser.cookie });
      assert.deepEqual([after.status, after.code], [401, 'UNAUTHENTICATED']);
      assert.equal((await call('GET', '/api/v1/session', { cookie: browser.cookie })).status, 401);
      assert.equal((await events('user.sign_out', hal.user.id)).length, 1);
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: 'sls_forged' })).code, 'UNAUTHENTICATED');
    });

    test('a session ends after two idle hours, or twelve hours however busy', async () => {
      await person('ida', 'viewer', { password: true });
      const idle = await signedIn('ida@example.com');
      clock.advance(2 * HOUR - MINUTE);
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: idle.cookie })).status, 200);
      clock.advance(2 * HOUR - MINUTE);
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: idle.cookie })).status, 200, 'a request keeps a session alive');
      clock.advance(2 * HOUR + 1000);
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: idle.cookie })).code, 'UNAUTHENTICATED');

      const busy = await signedIn('ida@example.com');
      let elapsed = 0;
      while (elapsed + 100 * MINUTE < 12 * HOUR) {
        clock.advance(100 * MINUTE);
        elapsed += 100 * MINUTE;
        assert.equal((await call('GET', '/api/v1/whoami', { cookie: busy.cookie })).status, 200, `still signed in after ${elapsed / MINUTE} minutes`);
      }
      clock.advance(12 * HOUR - elapsed + 1000);
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: busy.cookie })).code, 'UNAUTHENTICATED');
    });

    test("a password change ends the user's sessions; user.password records no password", async () => {
      const jo = await person('jo', 'viewer', { password: true });
      const kim = await person('kim', 'viewer', { password: true });
      const first = await signedIn('jo@example.com');
      const second = await signedIn('jo@example.com');
      const kims = await signedIn('kim@example.com');

      await rejectsWithCode(jo.client.setPassword('jo', { password: NEW_PASSWORD }), 'SIGN_IN_FAILED', 401);
      await rejectsWithCode(jo.client.setPassword('jo', { password: NEW_PASSWORD, current: 'not my password' }), 'SIGN_IN_FAILED', 401);
      await rejectsWithCode(jo.client.setPassword('jo', { password: 'short', current: PASSWORD }), 'PASSWORD_WEAK', 400);
      await rejectsWithCode(jo.client.setPassword('kim', { password: NEW_PASSWORD }), 'FORBIDDEN', 403);
      await rejectsWithCode(t.client.setPassword('nobody', { password: NEW_PASSWORD }), 'USER_NOT_FOUND', 404);
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: first.cookie })).status, 200, 'refused changes end nothing');

      await jo.client.setPassword('jo', { password: NEW_PASSWORD, current: PASSWORD });
      for (const browser of [first, second]) assert.equal((await call('GET', '/api/v1/whoami', { cookie: browser.cookie })).code, 'UNAUTHENTICATED');
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: kims.cookie })).status, 200, "another user's session goes on");
      assert.equal((await jo.client.whoami()).actor.name, 'jo', 'tokens stay');
      assert.equal((await signIn('jo@example.com', PASSWORD)).code, 'SIGN_IN_FAILED');
      const fresh = await signedIn('jo@example.com', NEW_PASSWORD);

      // A change made from the browser, with the CSRF token, ends that session too.
      const fromBrowser = await call('PUT', '/api/v1/users/jo/password', { cookie: fresh.cookie, csrf: fresh.csrf, body: { password: PASSWORD, current: NEW_PASSWORD } });
      assert.equal(fromBrowser.status, 204, JSON.stringify(fromBrowser.body));
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: fresh.cookie })).code, 'UNAUTHENTICATED');

      // An admin sets anyone's password.
      await t.client.setPassword('kim', { password: NEW_PASSWORD });
      assert.equal((await call('GET', '/api/v1/whoami', { cookie: kims.cookie })).code, 'UNAUTHENTICATED');
      await signedIn('kim@example.com', NEW_PASSWORD);

      const recorded = [...(await events('user.password', jo.user.id)), ...(await events('user.password', kim.user.id)), ...(await events('user.create'))];
      assert.equal(recorded.filter((e) => e.action === 'user.password').length, 3);
      for (const event of recorded) {
        const text = JSON.stringify(event);
        for (const secret of [PASSWORD, NEW_PASSWORD, 'scrypt$']) assert.ok(!text.includes(secret), `${event.action} holds no ${secret}`);
      }
    });

    test('proving the current password to change it is rate-limited like signing in; an admin changing their own proves it too', async () => {
      freshAddressWindow();
      const ria = await person('ria', 'admin', { password: true });
      await rejectsWithCode(ria.client.setPassword('ria', { password: NEW_PASSWORD }), 'SIGN_IN_FAILED', 401);
      for (let i = 1; i <= 5; i++) {
        await rejectsWithCode(ria.client.setPassword('ria', { password: NEW_PASSWORD, current: `wrong guess ${i}` }), 'SIGN_IN_FAILED', 401);
      }
      await rejectsWithCode(ria.client.setPassword('ria', { password: NEW_PASSWORD, current: PASSWORD }), 'RATE_LIMITED', 429);
      clock.advance(31_000);
      await ria.client.setPassword('ria', { password: NEW_PASSWORD, current: PASSWORD });
      assert.equal((await signIn('ria@example.com', NEW_PASSWORD)).status, 200);
    });

    test('after five wrong passwords a user is blocked, even with the right one, until the block passes; it doubles', async () => {
      freshAddressWindow();
      const liv = await person('liv', 'viewer', { password: true });
      for (let i = 1; i <= 5; i++) assert.equal((await signIn('liv@example.com', `wrong guess ${i}`)).code, 'SIGN_IN_FAILED', `guess ${i}`);
      const blocked = await signIn('liv@example.com', 'wrong guess 6');
      assert.deepEqual([blocked.status, blocked.code], [429, 'RATE_LIMITED']);
      assert.equal(blocked.headers.get('retry-after'), '30');
      const right = await signIn('liv@example.com', PASSWORD);
      assert.deepEqual([right.status, right.code], [429, 'RATE_LIMITED'], 'the right password waits too');
      assert.equal(right.setCookie, null);

      clock.advance(31_000);
      assert.equal((await signIn('liv@example.com', 'wrong guess 7')).code, 'SIGN_IN_FAILED', 'one more guess once the block passed');
      const doubled = await signIn('liv@example.com', PASSWORD);
      assert.deepEqual([doubled.code, doubled.headers.get('retry-after')], ['RATE_LIMITED', '60']);
      clock.advance(61_000);
      await signedIn('liv@example.com');

      // A good sign-in starts the count again.
      assert.equal((await signIn('liv@example.com', 'wrong again')).code, 'SIGN_IN_FAILED');
      await signedIn('liv@example.com');

      const failed = await events('user.sign_in_failed', liv.user.id);
      assert.equal(failed.length, 7);
      for (const event of failed) {
        const text = JSON.stringify(event);
        for (const secret of [PASSWORD, 'wrong guess', 'wrong again', 'scrypt$']) assert.ok(!text.includes(secret), `${text} holds no ${secret}`);
      }
    });

    test('two wrong passwords at once count twice', async () => {
      freshAddressWindow();
      const max = await person('max', 'viewer', { password: true });
      for (let i = 1; i <= 3; i++) assert.equal((await signIn('max@example.com', `wrong guess ${i}`)).code, 'SIGN_IN_FAILED');
      const both = await Promise.all([signIn('max@example.com', 'wrong guess 4'), signIn('max@example.com', 'wrong guess 5')]);
      assert.deepEqual(both.map((a) => a.code), ['SIGN_IN_FAILED', 'SIGN_IN_FAILED']);
      assert.equal((await signIn('max@example.com', PASSWORD)).code, 'RATE_LIMITED', 'five failures: blocked');
      const counts = (await events('user.sign_in_failed', max.user.id)).map((e) => (e.after as { failures: number }).failures).sort();
      assert.deepEqual(counts, [1, 2, 3, 4, 5]);
    });

    test('guesses sent at once at one user wait their turn: five are checked, the rest are refused unchecked', async () => {
      freshAddressWindow();
      const ola = await person('ola', 'viewer', { password: true });
      const codes = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn('ola@example.com', `wrong guess ${i}`)));
      assert.equal(codes.filter((a) => a.code === 'SIGN_IN_FAILED').length, 5, 'five guesses checked');
      assert.equal(codes.filter((a) => a.code === 'RATE_LIMITED').length, 7, 'the rest refused');
      assert.equal((await signIn('ola@example.com', PASSWORD)).code, 'RATE_LIMITED');
      assert.equal((await events('user.sign_in_failed', ola.user.id)).length, 5);
    });

    test('one address gets twenty failed sign-ins in ten minutes, unknown emails included, even sent at once', async () => {
      freshAddressWindow();
      await person('ned', 'viewer', { password: true });
      const burst = await Promise.all(Array.from({ length: 24 }, (_, i) => signIn(`guess-${i}@example.com`, PASSWORD)));
      assert.equal(burst.filter((a) => a.code === 'SIGN_IN_FAILED').length, 20, 'twenty checked');
      const refused = burst.filter((a) => a.code === 'RATE_LIMITED');
      assert.equal(refused.length, 4, 'the rest refused unchecked');
      for (const limited of refused) {
        assert.equal(limited.status, 429);
        assert.ok(Number(limited.headers.get('retry-after')) > 0);
      }
      const known = await signIn('ned@example.com', PASSWORD);
      assert.deepEqual([known.status, known.code], [429, 'RATE_LIMITED'], 'the address is held, whoever it names');
      freshAddressWindow();
      await signedIn('ned@example.com');
    });
  });
}
