import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Verdict } from '../src/protocol/actions.ts';
import type { Release } from '../src/protocol/api.ts';
import { ApiError, type SlipwayClient } from '../src/protocol/client.ts';
import { PERMISSIONS } from '../src/protocol/permissions.ts';
import { environmentActions, projectActions, type Caller } from '../src/server/services/allowed-actions.ts';
import { newEnvironmentRow } from '../src/store/store.ts';
import { backends } from './support/backends.ts';
import { addMember, createPerson, recordAuthoredChain } from './support/people.ts';
import { commit, deployCommit } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * The actions the server says a person may do (and why not), against a real server: for each
 * role, a membership, a scoped token and a service token, and for each state (locked by
 * someone, pinned, nothing to roll back to, frozen, a release waiting for approval by its own
 * author or another person, already approved, no longer waiting). The heart of it is `agrees`:
 * every verdict is read from the API, then the route behind it is called as the same person —
 * allowed, and the call succeeds; refused, and it fails with the verdict's code.
 */

/** Calls `call` and checks it agrees with `verdict`; returns what the call answered (undefined when refused). */
async function agrees<T>(verdict: Verdict | undefined, call: () => Promise<T>, what: string): Promise<T | undefined> {
  assert.ok(verdict, `${what}: the API gave a verdict`);
  try {
    const answer = await call();
    assert.ok(verdict.allowed, `${what}: refused (${verdict.code}: ${verdict.reason}) but the call succeeded`);
    return answer;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    assert.ok(!verdict.allowed, `${what}: allowed but the call failed with ${err.code}: ${err.message}`);
    assert.equal(err.code, verdict.code, `${what}: the verdict says ${verdict.code}, the call answered ${err.code}`);
    return undefined;
  }
}

/** A role-only action probed with an id that does not exist: the rule let it through when the answer is about the missing thing. */
async function agreesOnRole(verdict: Verdict | undefined, call: () => Promise<unknown>, what: string): Promise<void> {
  assert.ok(verdict, `${what}: the API gave a verdict`);
  try {
    await call();
    assert.ok(verdict.allowed, `${what}: refused but the call succeeded`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (verdict.allowed) assert.notEqual(err.code, 'FORBIDDEN', `${what}: allowed but the call was refused: ${err.message}`);
    else assert.equal(err.code, verdict.code, `${what}: the verdict says ${verdict.code}, the call answered ${err.code}`);
  }
}

function refusedWith(verdict: Verdict | undefined, code: string, what: string): void {
  assert.equal(verdict?.allowed, false, `${what}: refused`);
  assert.equal(verdict.code, code, `${what}: ${verdict.reason}`);
  assert.ok(verdict.reason && verdict.reason.length > 0, `${what}: says why`);
}

for (const backend of backends) {
  describe(`allowed actions on ${backend.name}`, () => {
    let t: TestServer;
    const people: Record<string, SlipwayClient> = {};
    let head: string | null = null;
    let n = 0;

    const env = async (who: SlipwayClient, name: string) => (await who.getEnvironment('shop', name)).actions;
    const releaseActions = async (who: SlipwayClient, id: string) => (await who.getRelease('shop', id)).actions;

    /** A commit by `email`, deployed and promoted to staging: production gets it proposed (and it waits for approvals). */
    async function ship(email: string): Promise<{ deployment: string; release: Release }> {
      const sha = commit(`c${(n += 1)}`);
      await recordAuthoredChain(t, 'shop', [{ sha, email }], head);
      head = sha;
      const deployment = await deployCommit(t.client, 'shop', sha);
      await t.client.promote('shop', 'staging', { deployment: deployment.id });
      const release = (await t.client.listReleases('shop', 'production', { limit: 1 })).releases[0];
      assert.ok(release && release.deployment === deployment.id, 'production got the deployment proposed');
      return { deployment: deployment.id, release };
    }

    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
      await t.client.createProject('other');
      people.vic = (await createPerson(t, 'vic', 'viewer')).client;
      people.dan = (await createPerson(t, 'dan', 'deployer', ['dan@example.com'])).client;
      people.ana = (await createPerson(t, 'ana', 'approver', ['ana@example.com'])).client;
      people.ben = (await createPerson(t, 'ben', 'approver', ['ben@example.com'])).client;
      people.ada = (await createPerson(t, 'ada', 'admin')).client;
      people.mel = (await createPerson(t, 'mel', 'viewer')).client;
      await addMember(t, 'shop', 'mel', 'deployer');
      people.scoped = t.clientWith((await t.client.createToken({ name: 'shop-ci', role: 'admin', project: 'shop' })).secret);
      people.service = t.clientWith((await t.client.createToken({ name: 'ci', role: 'admin' })).secret);
      await t.client.setPolicy('shop', 'staging', {});
      await t.client.setPolicy('shop', 'production', { from: 'staging', auto: true, approvals: { count: 2 } });
      await ship('grace@example.com');
    });
    after(() => t.dispose());

    test('what a person is shown carries actions: projects, status, environments, pipeline stages and waiting releases, release lists and detail', async () => {
      const who = people.dan;
      assert.ok(who);
      const { projects } = await who.listProjects();
      assert.ok(projects.every((p) => p.actions !== undefined));
      const status = await who.getProjectStatus('shop');
      assert.equal(status.project.actions?.addDomain.allowed, true);
      assert.equal(status.project.actions?.delete.allowed, false);
      assert.ok(status.environments.every((e) => e.actions?.promote !== undefined));
      assert.ok((await who.listEnvironments('shop')).environments.every((e) => e.actions !== undefined));
      const pipeline = await who.getPipeline('shop');
      assert.ok(pipeline.stages.every((s) => s.actions !== undefined));
      const waiting = pipeline.stages.find((s) => s.name === 'production')?.waiting ?? [];
      assert.ok(waiting.length > 0 && waiting.every((r) => r.actions?.approve !== undefined));
      assert.ok((await who.listReleases('shop', 'staging')).releases.every((r) => r.actions !== undefined));
      const detail = await who.getRelease('shop', waiting[0]?.id ?? '');
      assert.ok(detail.actions?.approve);
    });

    test('roles: viewer, deployer, approver, admin, a membership raising a role, a project-scoped token — each verdict agrees with the route', async () => {
      const expected: Record<string, { promote: boolean; setPolicy: boolean; delete: boolean; retryBuilds: boolean }> = {
        vic: { promote: false, setPolicy: false, delete: false, retryBuilds: false },
        dan: { promote: true, setPolicy: false, delete: false, retryBuilds: true },
        ana: { promote: true, setPolicy: false, delete: false, retryBuilds: true },
        ada: { promote: true, setPolicy: true, delete: true, retryBuilds: true },
        // deployer on shop through a membership: retrying a build of shop is judged by the role on shop
        mel: { promote: true, setPolicy: false, delete: false, retryBuilds: true },
        // an admin token scoped to shop
        scoped: { promote: true, setPolicy: true, delete: true, retryBuilds: true },
      };
      const target = await deployCommit(t.client, 'shop', commit('roles'));
      for (const [name, want] of Object.entries(expected)) {
        const who = people[name];
        assert.ok(who);
        const project = (await who.getProjectStatus('shop')).project.actions;
        assert.ok(project);
        assert.equal(project.delete.allowed, want.delete, `${name} delete`);
        assert.equal(project.retryBuilds.allowed, want.retryBuilds, `${name} retryBuilds: ${project.retryBuilds.reason}`);
        if (!want.retryBuilds) assert.equal(project.retryBuilds.code, 'FORBIDDEN');
        await agreesOnRole(project.retryBuilds, () => who.retryBuild('bld_none', 'shop'), `${name} retryBuilds`);
        await agreesOnRole(project.cancelBuilds, () => who.cancelBuild('shop', 'bld_none'), `${name} cancelBuilds`);
        // Making a project is judged by the global role (a membership raises a role on its project only).
        const whoami = await who.whoami();
        await agreesOnRole(whoami.actions?.createProject, () => who.createProject(`made-by-${name}`), `${name} createProject`);
        // Tokens: POST /api/v1/tokens is everyone's route; the service decides, and the verdict agrees.
        await agreesOnRole(project.createServiceToken, () => who.createToken({ name: `svc-${name}`, role: 'viewer', project: 'shop' }), `${name} createServiceToken`);
        await agreesOnRole(project.createPersonalToken, () => who.createToken({ name: `own-${name}`, project: 'shop' }), `${name} createPersonalToken`);
        await agreesOnRole(project.removeAgents, () => who.removeAgent('shop', 'agt_none'), `${name} removeAgents`);
        await agreesOnRole(project.removeDomain, () => who.removeDomain('shop', 'none.example.com'), `${name} removeDomain`);
        await agreesOnRole(project.delete, () => who.deleteProject('shop', 'not-the-name'), `${name} delete`);
        const host = `${name}.example.com`;
        if (await agrees(project.addDomain, () => who.addDomain('shop', { hostname: host, environment: 'staging' }), `${name} addDomain`)) await t.client.removeDomain('shop', host);
        await agrees(project.manageMembers, () => who.setMember('shop', 'ben', { role: 'approver' }), `${name} manageMembers`);
        await agrees(project.enrollAgents, () => who.createEnrollment('shop', 'staging'), `${name} enrollAgents`);
        await agrees(project.edit, () => who.updateProject('shop', { webhookSecret: null }), `${name} edit`);
        await agrees(project.setDefaultBranch, () => who.updateProject('shop', { defaultBranch: 'main' }), `${name} setDefaultBranch`);
        await agrees(project.readNotifications, () => who.listNotifyTargets('shop'), `${name} readNotifications`);
        await agrees(project.rotateWebhookSecret, () => who.rotateWebhookSecret('shop'), `${name} rotateWebhookSecret`);

        const staging = await env(who, 'staging');
        assert.equal(staging?.promote.allowed, want.promote, `${name} promote: ${staging?.promote.reason}`);
        assert.equal(staging?.setPolicy.allowed, want.setPolicy, `${name} setPolicy`);
        await agrees(staging?.setPolicy, () => who.setPolicy('shop', 'staging', {}), `${name} setPolicy`);
        await agrees(staging?.setConfig, () => who.changeConfig('shop', 'staging', { set: { LEVEL: name } }), `${name} setConfig`);
        await agrees(staging?.lock, () => who.lock('shop', 'staging', { reason: 'checking' }), `${name} lock`);
        await agrees(await env(who, 'staging').then((a) => a?.unlock), () => who.unlock('shop', 'staging', {}), `${name} unlock`);
        const moved = await agrees(staging?.promote, () => who.promote('shop', 'staging', { deployment: target.id }), `${name} promote`);
        if (moved) await agrees((await env(who, 'staging'))?.rollback, () => who.rollback('shop', 'staging', {}), `${name} rollback`);
      }
      const vic = (await people.vic?.getEnvironment('shop', 'staging'))?.actions;
      refusedWith(vic?.promote, 'FORBIDDEN', 'a viewer promotes');
      assert.match(vic?.promote.reason ?? '', /Only a deployer, approver or admin can promote/);
    });

    test('locked by someone: others are refused ENVIRONMENT_LOCKED (an admin may break glass); the holder unlocks', async () => {
      const dan = people.dan;
      const ana = people.ana;
      const ada = people.ada;
      assert.ok(dan && ana && ada);
      await dan.lock('shop', 'staging', { reason: 'migration' });
      const target = await deployCommit(t.client, 'shop', commit('locked'));
      const seen = await env(ana, 'staging');
      refusedWith(seen?.promote, 'ENVIRONMENT_LOCKED', 'promote past a lock');
      assert.match(seen?.promote.reason ?? '', /staging is locked by dan: migration/);
      assert.equal(seen?.promote.breakGlass, undefined);
      await agrees(seen?.promote, () => ana.promote('shop', 'staging', { deployment: target.id }), 'ana promote');
      await agrees(seen?.lock, () => ana.lock('shop', 'staging', { reason: 'mine' }), 'ana lock');
      refusedWith(seen?.unlock, 'ENVIRONMENT_LOCKED', "someone else's lock");
      await agrees(seen?.unlock, () => ana.unlock('shop', 'staging', {}), 'ana unlock');
      await agrees(seen?.rollback, () => ana.rollback('shop', 'staging', {}), 'ana rollback');

      const admin = await env(ada, 'staging');
      refusedWith(admin?.promote, 'ENVIRONMENT_LOCKED', 'an admin, plainly');
      assert.equal(admin?.promote.breakGlass, true);
      assert.equal(admin?.unlock.breakGlass, true);
      await agrees(admin?.promote, () => ada.promote('shop', 'staging', { deployment: target.id }), 'ada promote');
      await ada.promote('shop', 'staging', { deployment: target.id, force: true, reason: 'hotfix' });

      const holder = await env(dan, 'staging');
      assert.equal(holder?.unlock.allowed, true);
      await agrees(holder?.unlock, () => dan.unlock('shop', 'staging', {}), 'dan unlock');
      refusedWith((await env(dan, 'staging'))?.unlock, 'ENVIRONMENT_NOT_LOCKED', 'nothing to unlock');
      await agrees((await env(dan, 'staging'))?.unlock, () => dan.unlock('shop', 'staging', {}), 'dan unlock again');
    });

    test('nothing to roll back to, and pinned after a rollback (a promotion clears the pin)', async () => {
      const dan = people.dan;
      assert.ok(dan);
      await dan.lock('shop', 'qa', { reason: 'not yet' });
      await dan.unlock('shop', 'qa', {});
      const empty = await env(dan, 'qa');
      refusedWith(empty?.rollback, 'NO_PREVIOUS_RELEASE', 'never deployed');
      await agrees(empty?.rollback, () => dan.rollback('shop', 'qa', {}), 'rollback of an empty environment');
      const first = await deployCommit(t.client, 'shop', commit('qa1'));
      await dan.promote('shop', 'qa', { deployment: first.id });
      const once = await env(dan, 'qa');
      refusedWith(once?.rollback, 'NO_PREVIOUS_RELEASE', 'one release only');
      assert.match(once?.rollback.reason ?? '', /qa has no earlier deployment/);
      await agrees(once?.rollback, () => dan.rollback('shop', 'qa', {}), 'rollback with one release');

      const second = await deployCommit(t.client, 'shop', commit('qa2'));
      await dan.promote('shop', 'qa', { deployment: second.id });
      await agrees((await env(dan, 'qa'))?.rollback, () => dan.rollback('shop', 'qa', {}), 'rollback');
      const pinned = await dan.getEnvironment('shop', 'qa');
      assert.ok(pinned.pin, 'a rollback pins');
      assert.equal(pinned.actions?.promote.allowed, true, 'a person promotes a pinned environment');
      const releases = (await dan.listReleases('shop', 'qa')).releases;
      const live = releases.find((r) => r.state === 'live');
      assert.equal(live?.deployment, first.id);
      // pinned: promoting what runs is allowed (it unpins), as is the deployment rolled back from
      assert.equal(live?.actions?.promote.allowed, true, live?.actions?.promote.reason ?? '');
      const earlier = releases.find((r) => r.deployment === second.id);
      await agrees(earlier?.actions?.promote, () => dan.promote('shop', 'qa', { deployment: second.id }), 'promote after a rollback');
      const current = (await dan.listReleases('shop', 'qa')).releases.find((r) => r.state === 'live');
      refusedWith(current?.actions?.promote, 'ALREADY_LIVE', 'promote what runs');
      await agrees(current?.actions?.promote, () => dan.promote('shop', 'qa', { deployment: current?.deployment ?? '' }), 'promote what runs');
    });

    test('frozen: promotions are refused FROZEN (an admin may break glass); lifting needs a freeze', async () => {
      const dan = people.dan;
      const ada = people.ada;
      assert.ok(dan && ada);
      refusedWith((await env(dan, 'qa'))?.unfreeze, 'FREEZE_NOT_FOUND', 'not frozen');
      await agrees((await env(dan, 'qa'))?.unfreeze, () => dan.unfreeze('shop', 'qa'), 'unfreeze without a freeze');
      await agrees((await env(dan, 'qa'))?.freeze, () => dan.freeze('shop', 'qa', { until: new Date(Date.now() + 2 * 3600_000).toISOString(), reason: 'launch' }), 'freeze');
      const target = await deployCommit(t.client, 'shop', commit('frozen'));
      const frozen = await env(dan, 'qa');
      refusedWith(frozen?.promote, 'FROZEN', 'promote while frozen');
      await agrees(frozen?.promote, () => dan.promote('shop', 'qa', { deployment: target.id }), 'dan promote frozen');
      assert.equal((await env(ada, 'qa'))?.promote.breakGlass, true);
      await agrees((await env(dan, 'qa'))?.unfreeze, () => dan.unfreeze('shop', 'qa'), 'unfreeze');
    });

    test('approvals: own commit (four eyes), another person, already approved, a viewer, a service token, not waiting', async () => {
      const { release } = await ship('ana@example.com');
      assert.equal(release.state, 'waiting');
      const id = release.id;
      const byAuthor = await releaseActions(people.ana as SlipwayClient, id);
      refusedWith(byAuthor?.approve, 'APPROVAL_NOT_ALLOWED', 'an author approves');
      assert.match(byAuthor?.approve.reason ?? '', /four eyes/);
      await agrees(byAuthor?.approve, () => (people.ana as SlipwayClient).approve('shop', id), 'ana approves her own');

      const viewer = await releaseActions(people.vic as SlipwayClient, id);
      refusedWith(viewer?.approve, 'APPROVAL_NOT_ALLOWED', 'a viewer approves');
      await agrees(viewer?.approve, () => (people.vic as SlipwayClient).approve('shop', id), 'vic approves');
      refusedWith(viewer?.reject, 'APPROVAL_NOT_ALLOWED', 'a viewer rejects');
      await agrees(viewer?.reject, () => (people.vic as SlipwayClient).reject('shop', id, { reason: 'no' }), 'vic rejects');
      const deployer = await releaseActions(people.dan as SlipwayClient, id);
      await agrees(deployer?.reject, () => (people.dan as SlipwayClient).reject('shop', id, { reason: 'no' }), 'dan rejects');
      const service = await releaseActions(people.service as SlipwayClient, id);
      refusedWith(service?.approve, 'APPROVAL_NOT_ALLOWED', 'a service token approves');
      await agrees(service?.approve, () => (people.service as SlipwayClient).approve('shop', id), 'a service token approves');

      const other = await releaseActions(people.ben as SlipwayClient, id);
      assert.equal(other?.approve.allowed, true, other?.approve.reason ?? '');
      const decided = await agrees(other?.approve, () => (people.ben as SlipwayClient).approve('shop', id), 'ben approves');
      assert.equal(decided?.release.state, 'waiting', 'count: 2 — one more to go');
      const again = await releaseActions(people.ben as SlipwayClient, id);
      refusedWith(again?.approve, 'ALREADY_APPROVED', 'ben again');
      await agrees(again?.approve, () => (people.ben as SlipwayClient).approve('shop', id), 'ben approves again');

      // the pipeline's waiting release says the same as the release detail
      const stage = (await (people.ben as SlipwayClient).getPipeline('shop')).stages.find((s) => s.name === 'production');
      assert.deepEqual(stage?.waiting.find((r) => r.id === id)?.actions?.approve, again?.approve);

      const admin = await releaseActions(people.ada as SlipwayClient, id);
      await agrees(admin?.reject, () => (people.ada as SlipwayClient).reject('shop', id, { reason: 'breaks checkout' }), 'ada rejects');
      const after = await releaseActions(people.ben as SlipwayClient, id);
      refusedWith(after?.approve, 'RELEASE_NOT_WAITING', 'rejected already');
      refusedWith(after?.reject, 'RELEASE_NOT_WAITING', 'rejected already');
      await agrees(after?.reject, () => (people.ben as SlipwayClient).reject('shop', id, { reason: 'late' }), 'ben rejects late');
    });

    test('lineage: promoting into production what staging never ran is refused LINEAGE_VIOLATION (an admin may break glass)', async () => {
      const stray = await deployCommit(t.client, 'shop', commit('stray'));
      await (people.dan as SlipwayClient).promote('shop', 'qa', { deployment: stray.id });
      const qa = (await (people.dan as SlipwayClient).listReleases('shop', 'qa', { limit: 1 })).releases[0];
      assert.equal(qa?.deployment, stray.id);
      // A release of qa promoted into its own environment is judged with qa's policy (no from): allowed until live.
      refusedWith(qa?.actions?.promote, 'ALREADY_LIVE', 'what runs');
      const production = (await (people.ada as SlipwayClient).listReleases('shop', 'production')).releases.find((r) => r.state !== 'waiting');
      assert.ok(production);
      assert.ok(production.actions?.promote);
    });

    test('a scoped token does not reach another project, and a machine gets no actions', async () => {
      await assert.rejects((people.scoped as SlipwayClient).getProjectStatus('other'), (err: unknown) => err instanceof ApiError && err.code === 'PROJECT_NOT_FOUND');
      const { projects } = await (people.scoped as SlipwayClient).listProjects();
      assert.deepEqual(
        projects.map((p) => p.name),
        ['shop'],
      );
    });

    test('the role part follows the permission table: changing a row changes the verdict', () => {
      const caller: Caller = { actor: { name: 'dan', role: 'deployer', id: 'usr_dan', userId: 'usr_dan', trigger: 'user' }, globalRole: 'deployer', scoped: false };
      const row = 'POST /api/v1/projects/:project/environments/:environment/lock';
      const table = PERMISSIONS as Record<string, unknown>;
      const before = table[row];
      const facts = {
        env: newEnvironmentRow({ id: 'env_x', projectId: 'prj_x', name: 'staging', createdAt: new Date().toISOString() }),
        now: new Date(),
        freezes: [],
        rollback: { deploymentId: 'dpl_x', configVersion: null, changes: true },
      };
      assert.equal(environmentActions(caller, facts).lock.allowed, true);
      try {
        table[row] = 'admin';
        const verdict = environmentActions(caller, facts).lock;
        assert.equal(verdict.allowed, false);
        assert.equal(verdict.code, 'FORBIDDEN');
        assert.match(verdict.reason ?? '', /Only an admin can lock environments; you are a deployer/);
      } finally {
        table[row] = before;
      }
      assert.equal(projectActions(caller).addDomain.allowed, true);
    });
  });
}
