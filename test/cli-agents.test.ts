import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentList, Enrollment, InstanceList } from '../src/protocol/agents.ts';
import { backends } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

/** `slipway agents enroll|remove`, `slipway agents` and `slipway instances`: the real bin/slipway against a real server. */

const [sqlite] = backends;

describe('agents and instances from the CLI', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(sqlite ?? backends[0]!);
    await t.client.createProject('shop');
    const deployment = await deployFiles(t.client, 'shop', { 'server.js': 'v1' }, { service: { start: 'node server.js' } });
    await t.client.promote('shop', 'production', { deployment: deployment.id });
  });
  after(() => t.dispose());

  test('enroll prints a one-time token and the host command; agents and instances list what enrolled; remove retires it', async () => {
    const enrolled = await slipway(t, ['agents', 'enroll', '--project', 'shop', '--env', 'production']);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    const token = /slw_enr_\S+/.exec(enrolled.stdout)?.[0];
    assert.ok(token, enrolled.stdout);
    assert.match(enrolled.stdout, /slipway agent --server http:\/\/\S+ --token slw_enr_\S+ --dir \/srv\/shop/);
    const json = await slipway(t, ['agents', 'enroll', '--project', 'shop', '--env', 'production', '--expires', '30m', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.match((JSON.parse(json.stdout) as Enrollment).token, /^slw_enr_/);

    const { agent } = await t.client.enrollAgent({ token, name: 'web-1', version: '0.1.0', address: '10.0.0.5', port: 8080 });
    const list = await slipway(t, ['agents', '--project', 'shop']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /web-1\s+production\s+10\.0\.0\.5:8080\s+-\s+idle\s+unhealthy\s+out/);
    const listed = JSON.parse((await slipway(t, ['agents', '--project', 'shop', '--json'])).stdout) as AgentList;
    assert.deepEqual(listed.agents.map((a) => a.id), [agent.id]);

    const inst = await slipway(t, ['instances', '--project', 'shop', '--env', 'production']);
    assert.equal(inst.code, 0, inst.stderr);
    assert.match(inst.stdout, /0 of 1 in rotation/);
    assert.equal((JSON.parse((await slipway(t, ['instances', '--project', 'shop', '--json'])).stdout) as InstanceList).instances[0]?.agent, agent.id);
    assert.equal((await slipway(t, ['instances', '--project', 'shop', '--env', 'nowhere'])).code, 3, 'ENVIRONMENT_NOT_FOUND');

    const removed = await slipway(t, ['agents', 'remove', agent.id, '--project', 'shop']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /Removed agent web-1/);
    const again = await slipway(t, ['agents', 'remove', 'agt-nosuchagent', '--project', 'shop']);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /AGENT_NOT_FOUND/);
    assert.match((await slipway(t, ['agents', '--project', 'shop'])).stdout, /No agents in shop/);
  });

  test('enroll needs --env and an admin; a bad --expires exits 2', async () => {
    assert.equal((await slipway(t, ['agents', 'enroll', '--project', 'shop'])).code, 2);
    const bad = await slipway(t, ['agents', 'enroll', '--project', 'shop', '--env', 'production', '--expires', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /INVALID_DURATION/);
    const deployer = await t.client.createToken({ name: 'ci', role: 'deployer' });
    const refused = await slipway(t, ['agents', 'enroll', '--project', 'shop', '--env', 'production'], { token: deployer.secret });
    assert.equal(refused.code, 6);
    assert.match(refused.stderr, /FORBIDDEN/);
  });
});
