import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentReport, EnrollResponse } from '../src/protocol/agents.ts';
import type { Deployment } from '../src/protocol/api.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { deployFiles, sha256, startTestServer, type TestServer } from './support/server.ts';

/**
 * The server's side of agents, over real HTTP on each backend: enrollment, the credential's
 * reach, the assignment long-poll, reports, lost agents, and removal.
 */

const SERVICE = { start: 'node server.js', port: 8080, health: '/healthz' };
const HEARTBEAT_MS = 300;

function enrollBody(token: string, name = 'host-1') {
  return { token, name, version: '0.1.0', address: '127.0.0.1', port: 9001 };
}

function idleReport(fields: Partial<AgentReport> = {}): AgentReport {
  return { state: 'idle', current: null, prepared: [], healthy: false, pid: null, version: '0.1.0', ...fields };
}

for (const backend of backends) {
  describe(`agents API (${backend.name})`, () => {
    let t: TestServer;
    let shopLive: Deployment;
    let shopStaging: Deployment;
    let otherLive: Deployment;
    let liveRelease: { id: string; number: number };

    before(async () => {
      t = await startTestServer(backend, { agentHeartbeatMs: HEARTBEAT_MS });
      await t.client.createProject('shop');
      await t.client.createProject('other');
      shopLive = await deployFiles(t.client, 'shop', { 'server.js': 'live', 'lib/a.js': 'shared' }, { service: SERVICE });
      shopStaging = await deployFiles(t.client, 'shop', { 'server.js': 'staging only' }, { service: SERVICE });
      otherLive = await deployFiles(t.client, 'other', { 'server.js': 'other project' }, { service: SERVICE });
      // No agents yet: each goes live at once.
      const moved = await t.client.promote('shop', 'production', { deployment: shopLive.id });
      liveRelease = { id: moved.id, number: moved.number };
      await t.client.promote('shop', 'staging', { deployment: shopStaging.id });
      await t.client.promote('other', 'production', { deployment: otherLive.id });
    });
    after(() => t.dispose());

    async function enroll(name: string, env = 'production'): Promise<{ enrolled: EnrollResponse; agent: SlipwayClient }> {
      const { token } = await t.client.createEnrollment('shop', env);
      const enrolled = await t.client.enrollAgent(enrollBody(token, name));
      return { enrolled, agent: t.clientWith(enrolled.credential) };
    }

    test('an enrollment token enrolls one agent, once; used, unknown and expired tokens get the same answer', async () => {
      const enrollment = await t.client.createEnrollment('shop', 'production', { expiresIn: '10m' });
      assert.match(enrollment.command, /^slipway agent --server http:\/\/\S+ --token slw_enr_\S+ --dir \/srv\/shop$/);
      // Two hosts racing with one token: one agent.
      const results = await Promise.allSettled([t.client.enrollAgent(enrollBody(enrollment.token, 'a')), t.client.enrollAgent(enrollBody(enrollment.token, 'b'))]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const first = results.find((r) => r.status === 'fulfilled')?.value;
      assert.equal(first?.project, 'shop');
      assert.equal(first?.environment, 'production');
      await rejectsWithCode(t.client.enrollAgent(enrollBody(enrollment.token, 'c')), 'ENROLLMENT_INVALID', 401);
      await rejectsWithCode(t.client.enrollAgent(enrollBody('slw_enr_unknown', 'c')), 'ENROLLMENT_INVALID', 401);
      const short = await t.client.createEnrollment('shop', 'production', { expiresIn: '1s' });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await rejectsWithCode(t.client.enrollAgent(enrollBody(short.token, 'c')), 'ENROLLMENT_INVALID', 401);
      // Bad input changes nothing: a name with control characters, a port out of range.
      const fresh = await t.client.createEnrollment('shop', 'production');
      await rejectsWithCode(t.client.enrollAgent({ ...enrollBody(fresh.token), name: 'bad\nname' }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.enrollAgent({ ...enrollBody(fresh.token), port: 70000 }), 'INVALID_REQUEST', 400);
      await t.client.enrollAgent(enrollBody(fresh.token, 'still-usable'));
      await rejectsWithCode(t.client.createEnrollment('shop', 'production', { expiresIn: '8d' }), 'INVALID_DURATION', 400);
      await rejectsWithCode(t.client.createToken({ name: 'fake agent', role: 'agent' }), 'INVALID_REQUEST', 400);
    });

    test('a new agent runs the live release of its environment, and joins the rotation once healthy on it', async () => {
      const { enrolled, agent } = await enroll('steady');
      const assignment = await agent.agentAssignment();
      assert.deepEqual(assignment.run, { releaseId: liveRelease.id, releaseNumber: liveRelease.number, deploymentId: shopLive.id });
      assert.deepEqual(assignment.service, SERVICE);
      assert.equal(assignment.project, 'shop');
      assert.equal(assignment.environment, 'production');
      assert.equal(assignment.heartbeatMs, HEARTBEAT_MS);
      assert.equal(assignment.keep, 5);
      const instance = async () => (await t.client.listInstances('shop', { environment: 'production' })).instances.find((i) => i.agent === enrolled.agent.id);
      assert.equal((await instance())?.rotation, 'out');
      await agent.agentReport(idleReport({ current: { releaseId: liveRelease.id, deploymentId: shopLive.id }, prepared: [shopLive.id], healthy: true, pid: 4242 }));
      const seen = await instance();
      assert.equal(seen?.rotation, 'in');
      assert.deepEqual(seen?.current, { releaseId: liveRelease.id, releaseNumber: liveRelease.number, deploymentId: shopLive.id });
      assert.deepEqual(
        (await t.server.deps.store.listRoutableAgents((await t.server.deps.store.findAgent(enrolled.agent.id))?.environmentId ?? '')).map((a) => a.id).includes(enrolled.agent.id),
        true,
      );
      // Unhealthy: out of rotation.
      await agent.agentReport(idleReport({ current: { releaseId: liveRelease.id, deploymentId: shopLive.id }, healthy: false, error: 'health check failed' }));
      assert.equal((await instance())?.rotation, 'out');
      // A report of a release that is not its environment's is refused and changes nothing.
      const staging = (await t.client.listReleases('shop', 'staging')).releases[0];
      assert.ok(staging);
      await rejectsWithCode(agent.agentReport(idleReport({ current: { releaseId: staging.id, deploymentId: shopStaging.id }, healthy: true })), 'RELEASE_NOT_FOUND', 404);
      assert.deepEqual((await instance())?.current?.deploymentId, shopLive.id);
    });

    test("an agent's credential reaches its own environment's deployments and blobs, and nothing else", async () => {
      const { enrolled, agent } = await enroll('scoped');
      const own = await agent.agentDeployment(shopLive.id);
      assert.deepEqual(own.service, SERVICE);
      assert.deepEqual(own.files.map((f) => f.path).sort(), ['lib/a.js', 'server.js']);
      // Another environment's deployment (staging's) and another project's: as if they did not exist.
      await rejectsWithCode(agent.agentDeployment(shopStaging.id), 'DEPLOYMENT_NOT_FOUND', 404);
      await rejectsWithCode(agent.agentDeployment(otherLive.id), 'DEPLOYMENT_NOT_FOUND', 404);
      await rejectsWithCode(agent.agentDeployment('dpl-nosuchthing'), 'DEPLOYMENT_NOT_FOUND', 404);

      const blob = async (digest: string, deployment: string) => {
        const response = await fetch(`${agent.url}/api/v1/agent/blobs/${digest}?deployment=${deployment}`, { headers: { authorization: `Bearer ${enrolled.credential}` } });
        return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
      };
      const got = await blob(sha256('live'), shopLive.id);
      assert.equal(got.status, 200);
      assert.equal(got.body.toString(), 'live');
      // A blob of staging's deployment, named by its own deployment or by staging's; another project's.
      assert.equal((await blob(sha256('staging only'), shopLive.id)).status, 404);
      assert.equal((await blob(sha256('staging only'), shopStaging.id)).status, 404);
      assert.equal((await blob(sha256('other project'), otherLive.id)).status, 404);
      assert.equal((await blob('not-a-digest', shopLive.id)).status, 400);

      // No route but the agent's: not the project's deployments, not the project list, not whoami.
      await rejectsWithCode(agent.listDeployments('shop'), 'FORBIDDEN', 403);
      await rejectsWithCode(agent.getDeploymentManifest('shop', shopLive.id), 'FORBIDDEN', 403);
      await rejectsWithCode(agent.listProjects(), 'FORBIDDEN', 403);
      await rejectsWithCode(agent.listAgents('shop'), 'FORBIDDEN', 403);
      await rejectsWithCode(agent.whoami(), 'FORBIDDEN', 403);
      await rejectsWithCode(agent.createEnrollment('shop', 'production'), 'FORBIDDEN', 403);
      // And people's tokens do not speak the agent protocol.
      await rejectsWithCode(t.client.agentAssignment(), 'FORBIDDEN', 403);
    });

    test('the long-poll answers at once when the assignment changes, and at its timeout otherwise', async () => {
      const { enrolled, agent } = await enroll('poller');
      const first = await agent.agentAssignment();
      // Nothing changes: it waits out `wait` and answers the same rev.
      let started = Date.now();
      const quiet = await agent.agentAssignment({ after: first.rev, wait: 1 });
      assert.equal(quiet.rev, first.rev);
      assert.ok(Date.now() - started >= 900, 'it waited');
      // A change of another agent wakes the poll, which keeps waiting for its own.
      const { enrolled: other } = await enroll('bystander');
      started = Date.now();
      const pending = agent.agentAssignment({ after: first.rev, wait: 20 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await t.server.deps.store.setAgentAssignment(other.agent.id, { prepare: { deploymentId: shopLive.id } });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const rev = await t.server.deps.store.setAgentAssignment(enrolled.agent.id, { prepare: { deploymentId: shopLive.id } });
      const woken = await pending;
      assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms`);
      assert.equal(woken.rev, rev);
      assert.deepEqual(woken.prepare, { deploymentId: shopLive.id });
      // Already above `after`: at once.
      assert.equal((await agent.agentAssignment({ after: first.rev, wait: 20 })).rev, rev);
      await rejectsWithCode(agent.agentAssignment({ wait: 31 }), 'INVALID_REQUEST', 400);
    });

    test('an agent silent for two heartbeats is lost and out of rotation; its next report finds it again', async () => {
      const { enrolled, agent } = await enroll('flaky');
      const current = { releaseId: liveRelease.id, deploymentId: shopLive.id };
      await agent.agentReport(idleReport({ current, healthy: true }));
      const view = async () => (await t.client.listAgents('shop')).agents.find((a) => a.id === enrolled.agent.id);
      assert.equal((await view())?.rotation, 'in');
      // The sweep runs every few seconds; two heartbeats are 600 ms here.
      const lost = await eventually('the agent lost', async () => ((await view())?.lost === true ? await view() : undefined), 15_000);
      assert.equal(lost?.rotation, 'out');
      await agent.agentReport(idleReport({ current, healthy: true }));
      const found = await view();
      assert.equal(found?.lost, false);
      assert.equal(found?.rotation, 'in');
    });

    test('a removed agent is out, and its credential stops working with AGENT_RETIRED', async () => {
      const { enrolled, agent } = await enroll('doomed');
      const first = await agent.agentAssignment();
      // The long-poll in flight is answered by the removal.
      const pending = rejectsWithCode(agent.agentAssignment({ after: first.rev, wait: 20 }), 'AGENT_RETIRED', 401);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const removed = await t.client.removeAgent('shop', enrolled.agent.id);
      assert.ok(removed.retiredAt);
      await pending;
      await rejectsWithCode(agent.agentReport(idleReport()), 'AGENT_RETIRED', 401);
      assert.equal((await t.client.listAgents('shop')).agents.some((a) => a.id === enrolled.agent.id), false);
      await rejectsWithCode(t.client.removeAgent('other', enrolled.agent.id), 'AGENT_NOT_FOUND', 404);
      await rejectsWithCode(t.client.removeAgent('shop', 'agt-nosuchagent'), 'AGENT_NOT_FOUND', 404);
    });
  });
}
