import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Release } from '../src/protocol/api.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { addMember, createPerson, recordAuthoredChain } from './support/people.ts';
import { commit, deployCommit, waitCodes } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * Approvals as a gate, through the API on both backends: count with four eyes, authors: all
 * with sign-for, rejection, an approval bound to its release, and an approval and a rejection
 * racing on one release.
 */

for (const backend of backends) {
  describe(`approvals on ${backend.name}`, () => {
    let t: TestServer;
    let anna: SlipwayClient;
    let ben: SlipwayClient;
    let ada: SlipwayClient;
    let dev1: SlipwayClient;
    let dev2: SlipwayClient;
    let vic: SlipwayClient;
    let service: SlipwayClient;
    let head: string | null = null;
    let n = 0;

    /** A new commit by `email` on top of the last, deployed and promoted to staging: production gets it proposed. */
    async function ship(...emails: string[]): Promise<{ deployment: string; release: Release }> {
      const chain = emails.map((email) => ({ sha: commit(`c${(n += 1)}`), email }));
      await recordAuthoredChain(t, 'shop', chain, head);
      head = chain.at(-1)?.sha ?? head;
      const deployment = await deployCommit(t.client, 'shop', head ?? '');
      await t.client.promote('shop', 'staging', { deployment: deployment.id });
      const { releases } = await t.client.listReleases('shop', 'production', { limit: 1 });
      const release = releases[0];
      assert.ok(release && release.deployment === deployment.id, 'production got the deployment proposed');
      return { deployment: deployment.id, release };
    }

    const production = async () => (await t.client.getEnvironment('shop', 'production')).deployment;
    const release = (id: string) => t.client.getRelease('shop', id);

    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
      await t.client.createProject('other');
      anna = (await createPerson(t, 'anna', 'approver', ['anna@example.com'])).client;
      ben = (await createPerson(t, 'ben', 'approver')).client;
      ada = (await createPerson(t, 'ada', 'admin')).client;
      dev1 = (await createPerson(t, 'dev1', 'approver', ['dev1@example.com', 'Dev1@Users.Noreply.GitHub.com'])).client;
      dev2 = (await createPerson(t, 'dev2', 'viewer', ['dev2@example.com'])).client;
      vic = (await createPerson(t, 'vic', 'viewer')).client;
      service = t.clientWith((await t.client.createToken({ name: 'ci', role: 'admin' })).secret);
      await t.client.setPolicy('shop', 'staging', {});
      await t.client.setPolicy('shop', 'production', { from: 'staging', auto: true, approvals: { count: 1 } });
    });
    after(() => t.dispose());

    test('count: a release waits for an approver; a viewer, a service token and a release that is not waiting are refused', async () => {
      const policy = (await t.client.getPipeline('shop')).stages.find((s) => s.name === 'production')?.policy;
      assert.deepEqual(policy?.approvals, { count: 1, roles: ['approver'], authors: null });
      const { deployment, release: waiting } = await ship('grace@example.com');
      assert.equal(waiting.state, 'waiting');
      assert.deepEqual(waitCodes(waiting), ['APPROVALS_PENDING']);
      assert.match(waiting.stateReason ?? '', /1 more approval of 1/);

      await rejectsWithCode(vic.approve('shop', waiting.id), 'APPROVAL_NOT_ALLOWED', 403);
      await rejectsWithCode(service.approve('shop', waiting.id), 'APPROVAL_NOT_ALLOWED', 403);
      await rejectsWithCode(anna.approve('other', waiting.id), 'RELEASE_NOT_FOUND', 404);
      await rejectsWithCode(anna.approve('shop', 'v1'), 'RELEASE_NOT_FOUND', 404);
      await rejectsWithCode(anna.approve('shop', 'v1', { environment: 'nowhere' }), 'ENVIRONMENT_NOT_FOUND', 404);
      const staging = (await t.client.listReleases('shop', 'staging', { limit: 1 })).releases[0];
      await rejectsWithCode(anna.approve('shop', staging?.id ?? ''), 'RELEASE_NOT_WAITING', 409);
      assert.deepEqual((await release(waiting.id)).approvals, []);

      const decided = await anna.approve('shop', `v${waiting.number}`, { environment: 'production', reason: 'looks good' });
      assert.equal(decided.release.state, 'live');
      assert.equal(decided.approval.user, 'anna');
      assert.equal(await production(), deployment);
      const shown = await release(waiting.id);
      assert.deepEqual(
        shown.approvals.map((a) => [a.user, a.decision, a.role, a.reason]),
        [['anna', 'approve', 'approver', 'looks good']],
      );
      await rejectsWithCode(ben.approve('shop', waiting.id), 'RELEASE_NOT_WAITING', 409);
      const events = (await t.client.listEvents({ project: 'shop', limit: 50 })).events;
      assert.ok(events.some((e) => e.action === 'release.approve' && e.actor === 'anna' && e.target === waiting.id && e.reason === 'looks good'));
    });

    test('four eyes: an author of a commit in the batch, or who promoted it, does not count, whatever their role', async () => {
      const { deployment, release: waiting } = await ship('dev1@example.com', 'DEV2@example.com');
      const refused = await rejectsWithCode(dev1.approve('shop', waiting.id), 'APPROVAL_NOT_ALLOWED', 403);
      assert.match(refused.message, /four eyes/);
      assert.deepEqual((await release(waiting.id)).approvals, []);
      assert.equal((await release(waiting.id)).state, 'waiting');

      // A person's promotion: they may not approve it themselves.
      const promoted = await ben.promote('shop', 'production', { deployment });
      assert.equal(promoted.state, 'waiting');
      assert.equal((await release(waiting.id)).state, 'superseded');
      const own = await rejectsWithCode(ben.approve('shop', promoted.id), 'APPROVAL_NOT_ALLOWED', 403);
      assert.match(own.message, /you promoted it/);
      const decided = await ada.approve('shop', promoted.id);
      assert.equal(decided.release.state, 'live');
      assert.equal(await production(), deployment);
    });

    test('an approval binds to its release: a newer release starts with none, the old one keeps its own', async () => {
      await t.client.setPolicy('shop', 'production', { approvals: { count: 2 } });
      const first = await ship('grace@example.com');
      const one = await anna.approve('shop', first.release.id);
      assert.equal(one.release.state, 'waiting');
      assert.deepEqual(one.approvals?.approvedBy, ['anna']);
      assert.equal(one.approvals?.missingCount, 1);

      const second = await ship('grace@example.com');
      assert.equal((await release(first.release.id)).state, 'superseded');
      assert.deepEqual(
        (await release(first.release.id)).approvals.map((a) => a.user),
        ['anna'],
      );
      const fresh = await release(second.release.id);
      assert.deepEqual(fresh.approvals, []);
      assert.deepEqual(fresh.approvalState?.approvedBy, []);
      assert.equal(fresh.approvalState?.missingCount, 2);
      await rejectsWithCode(ben.approve('shop', first.release.id), 'RELEASE_NOT_WAITING', 409);

      await anna.approve('shop', second.release.id);
      await rejectsWithCode(anna.approve('shop', second.release.id), 'ALREADY_APPROVED', 409);
      const done = await ben.approve('shop', second.release.id);
      assert.equal(done.release.state, 'live');
      assert.equal(await production(), second.deployment);
    });

    test('authors: all — every author approves; an approver signs for an author with no user, with a reason', async () => {
      await t.client.setPolicy('shop', 'production', { approvals: { count: 0, authors: 'all' } });
      const { deployment, release: waiting } = await ship('dev1@users.noreply.github.com', 'carol@elsewhere.example', 'dev2@example.com');
      const state = (await release(waiting.id)).approvalState;
      assert.deepEqual(
        state?.missingAuthors.map((a) => [a.user, a.email]),
        [
          ['dev2', 'dev2@example.com'],
          ['dev1', 'dev1@users.noreply.github.com'],
        ],
      );
      assert.deepEqual(state?.unmapped.map((a) => a.email), ['carol@elsewhere.example']);
      assert.match(waiting.stateReason ?? '', /author dev2; author dev1; author carol@elsewhere.example \(no user/);

      await rejectsWithCode(vic.approve('shop', waiting.id), 'APPROVAL_NOT_ALLOWED', 403);
      const two = await dev2.approve('shop', waiting.id);
      assert.equal(two.release.state, 'waiting');
      await rejectsWithCode(dev2.approve('shop', waiting.id), 'ALREADY_APPROVED', 409);
      await rejectsWithCode(vic.approve('shop', waiting.id, { forEmail: 'carol@elsewhere.example', reason: 'pairing' }), 'APPROVAL_NOT_ALLOWED', 403);
      await rejectsWithCode(anna.approve('shop', waiting.id, { forEmail: 'carol@elsewhere.example' }), 'REASON_REQUIRED', 400);
      await rejectsWithCode(anna.approve('shop', waiting.id, { forEmail: 'carol@elsewhere.example', reason: '   ' }), 'REASON_REQUIRED', 400);
      await rejectsWithCode(anna.approve('shop', waiting.id, { forEmail: 'nobody@example.com', reason: 'x' }), 'AUTHOR_NOT_IN_BATCH', 400);
      await rejectsWithCode(anna.approve('shop', waiting.id, { forEmail: 'dev1@example.com', reason: 'x' }), 'AUTHOR_NOT_IN_BATCH', 400);
      await rejectsWithCode(anna.approve('shop', waiting.id, { forEmail: 'dev1@users.noreply.github.com', reason: 'x' }), 'APPROVAL_NOT_ALLOWED', 403);
      await rejectsWithCode(anna.approve('shop', waiting.id, { forEmail: 'not an email', reason: 'x' }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(anna.approve('shop', waiting.id, { forEmail: `${'x'.repeat(400)}@example.com`, reason: 'x' }), 'INVALID_REQUEST', 400);
      const signed = await anna.approve('shop', waiting.id, { forEmail: 'Carol@Elsewhere.example', reason: 'carol is on leave; reviewed with her' });
      assert.equal(signed.approval.forEmail, 'carol@elsewhere.example');
      assert.equal(signed.release.state, 'waiting');
      assert.deepEqual(signed.approvals?.missingAuthors.map((a) => a.user), ['dev1']);

      const last = await dev1.approve('shop', waiting.id);
      assert.equal(last.release.state, 'live');
      assert.equal(await production(), deployment);
      const events = (await t.client.listEvents({ project: 'shop', limit: 50 })).events;
      const signFor = events.find((e) => e.action === 'release.sign_for');
      assert.equal(signFor?.actor, 'anna');
      assert.equal(signFor?.reason, 'carol is on leave; reviewed with her');
    });

    test('reject: needs a reason and the role (or a commit in the batch); the release fails with the reason', async () => {
      const { release: waiting } = await ship('dev1@example.com');
      await rejectsWithCode(anna.reject('shop', waiting.id, {}), 'REASON_REQUIRED', 400);
      await rejectsWithCode(anna.reject('shop', waiting.id, { reason: ' ' }), 'REASON_REQUIRED', 400);
      await rejectsWithCode(vic.reject('shop', waiting.id, { reason: 'no' }), 'APPROVAL_NOT_ALLOWED', 403);
      await rejectsWithCode(service.reject('shop', waiting.id, { reason: 'no' }), 'APPROVAL_NOT_ALLOWED', 403);
      assert.equal((await release(waiting.id)).state, 'waiting');
      const rejected = await dev1.reject('shop', waiting.id, { reason: 'breaks checkout on Safari' });
      assert.equal(rejected.release.state, 'failed');
      assert.equal(rejected.release.stateReason, 'rejected by dev1: breaks checkout on Safari');
      assert.equal((await release(waiting.id)).state, 'failed');
      await rejectsWithCode(anna.approve('shop', waiting.id), 'RELEASE_NOT_WAITING', 409);
      await rejectsWithCode(anna.reject('shop', waiting.id, { reason: 'again' }), 'RELEASE_NOT_WAITING', 409);
      const events = (await t.client.listEvents({ project: 'shop', limit: 50 })).events;
      assert.ok(events.some((e) => e.action === 'release.reject' && e.actor === 'dev1' && e.reason === 'breaks checkout on Safari'));
      assert.ok(events.some((e) => e.action === 'release.failed' && e.target === waiting.id));
    });

    test('an approval and a rejection racing on one release leave one outcome', async () => {
      await t.client.setPolicy('shop', 'production', { approvals: { count: 1, authors: null } });
      for (let round = 0; round < 6; round++) {
        const before = await production();
        const { deployment, release: waiting } = await ship('grace@example.com');
        const [approved, rejected] = await Promise.allSettled([anna.approve('shop', waiting.id), ben.reject('shop', waiting.id, { reason: `round ${round}` })]);
        const winners = [approved, rejected].filter((r) => r.status === 'fulfilled');
        assert.equal(winners.length, 1, `exactly one decision wins (round ${round})`);
        const loser = [approved, rejected].find((r) => r.status === 'rejected');
        assert.equal((loser?.reason as { code?: string } | undefined)?.code, 'RELEASE_NOT_WAITING');
        const final = await release(waiting.id);
        assert.equal(final.approvals.length, 1);
        if (approved.status === 'fulfilled') {
          assert.equal(final.state, 'live');
          assert.equal(await production(), deployment);
          assert.equal(final.approvals[0]?.decision, 'approve');
        } else {
          assert.equal(final.state, 'failed');
          assert.equal(final.stateReason, `rejected by ben: round ${round}`);
          assert.equal(await production(), before);
          assert.equal(final.approvals[0]?.decision, 'reject');
        }
      }
    });

    test('a membership raises the role on its project only; roles name the lowest that counts; an admin forcing passes approvals', async () => {
      await t.client.setPolicy('shop', 'production', { approvals: { count: 1, roles: ['admin'], authors: null } });
      const mia = (await createPerson(t, 'mia', 'viewer')).client;
      await addMember(t, 'shop', 'mia', 'approver');
      await addMember(t, 'other', 'mia', 'admin');
      const { release: waiting } = await ship('grace@example.com');
      assert.match(waiting.stateReason ?? '', /admin or above/);
      const low = await rejectsWithCode(mia.approve('shop', waiting.id), 'APPROVAL_NOT_ALLOWED', 403);
      assert.match(low.message, /approvals count from the admin role/);
      await addMember(t, 'shop', 'mia', 'admin');
      const decided = await mia.approve('shop', waiting.id);
      assert.equal(decided.release.state, 'live');
      assert.equal(decided.approval.role, 'admin');

      await t.client.setPolicy('shop', 'production', { approvals: { count: 2, roles: ['approver'] } });
      const { deployment, release: held } = await ship('grace@example.com');
      assert.equal(held.state, 'waiting');
      await rejectsWithCode(anna.promote('shop', 'production', { deployment, force: true, reason: 'outage' }), 'FORBIDDEN', 403);
      const forced = await ada.promote('shop', 'production', { deployment, force: true, reason: 'outage: nobody else is awake' });
      assert.equal(forced.state, 'live');
      assert.equal(forced.forced, true);
      assert.equal(await production(), deployment);
      const events = (await t.client.listEvents({ project: 'shop', limit: 20 })).events;
      assert.ok(events.some((e) => e.action === 'approvals.break_glass' && e.actor === 'ada' && e.reason === 'outage: nobody else is awake'));
    });

    test('bad policies are refused and change nothing', async () => {
      const before = (await t.client.getPipeline('shop')).stages.find((s) => s.name === 'production')?.policy.approvals;
      await rejectsWithCode(t.client.setPolicy('shop', 'production', { approvals: { count: -1 } }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.setPolicy('shop', 'production', { approvals: { count: 51 } }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.setPolicy('shop', 'production', { approvals: { roles: ['release-manager' as 'admin'] } }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.setPolicy('shop', 'production', { approvals: { roles: [] } }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(anna.setPolicy('shop', 'production', { approvals: null }), 'FORBIDDEN', 403);
      assert.deepEqual((await t.client.getPipeline('shop')).stages.find((s) => s.name === 'production')?.policy.approvals, before);
    });
  });
}
