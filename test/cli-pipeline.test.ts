import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Policy, ReleaseDetail, Pipeline } from '../src/protocol/pipelines.ts';
import { backends } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

/** `slipway env set`, `pipeline`, `releases show` and `promote --commit`: the real bin/slipway against a real server. */


const [sqlite] = backends;

describe('the pipeline from the CLI', () => {
  let t: TestServer;
  const A = 'a1'.repeat(20);
  const B = 'b2'.repeat(20);
  before(async () => {
    t = await startTestServer(sqlite ?? backends[0]!);
    await t.client.createProject('shop');
    const projectId = (await t.server.deps.store.findProjectByName('shop'))?.id ?? '';
    await t.server.deps.store.insertCommits(
      projectId,
      [
        { sha: B, parents: [A], authorName: 'Bea', authorEmail: 'bea@example.com', message: 'Second change', committedAt: new Date().toISOString() },
        { sha: A, parents: [], authorName: 'Al', authorEmail: 'al@example.com', message: 'First change', committedAt: new Date().toISOString() },
      ],
      new Date().toISOString(),
    );
  });
  after(() => t.dispose());

  test('env set declares the path; bad input exits 2 with POLICY_INVALID and changes nothing', async () => {
    const a = await deployFiles(t.client, 'shop', { 'index.html': 'a' }, { commit: A, branch: 'main' });
    await t.client.promote('shop', 'dev', { deployment: a.id });
    const staging = await slipway(t, ['env', 'set', 'staging', '--project', 'shop', '--from', 'dev', '--auto', '--checks', 'ci/test', '--mode', 'gate', '--json']);
    assert.equal(staging.code, 0, staging.stderr);
    const policy = JSON.parse(staging.stdout) as Policy;
    assert.deepEqual([policy.from, policy.auto, policy.checks, policy.mode], ['dev', true, ['ci/test'], 'gate']);
    const human = await slipway(t, ['env', 'set', 'production', '--project', 'shop', '--from', 'staging']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /production: from staging · manual/);

    const cycle = await slipway(t, ['env', 'set', 'dev', '--project', 'shop', '--from', 'production']);
    assert.equal(cycle.code, 2);
    assert.match(cycle.stderr, /POLICY_INVALID/);
    const mode = await slipway(t, ['env', 'set', 'dev', '--project', 'shop', '--mode', 'yolo']);
    assert.equal(mode.code, 2);
    assert.equal((await t.client.getPipeline('shop')).stages.find((s) => s.name === 'dev')?.policy.from, null);
  });

  test('pipeline prints each environment in order with what waits and the gate that holds it', async () => {
    const b = await deployFiles(t.client, 'shop', { 'index.html': 'b' }, { commit: B, branch: 'main' });
    await t.client.promote('shop', 'dev', { deployment: b.id });
    const out = await slipway(t, ['pipeline', '--project', 'shop']);
    assert.equal(out.code, 0, out.stderr);
    const order = ['dev', 'staging', 'production'].map((name) => out.stdout.indexOf(`\n${name}  `));
    assert.ok(order.every((i) => i > 0) && order[0]! < order[1]! && order[1]! < order[2]!, out.stdout);
    assert.match(out.stdout, /checks: waiting for checks: ci\/test missing/);
    assert.match(out.stdout, /looked at again when this changes/);
    const json = JSON.parse((await slipway(t, ['pipeline', '--project', 'shop', '--json'])).stdout) as Pipeline;
    assert.equal(json.stages.find((s) => s.name === 'staging')?.waiting[0]?.deployment, b.id);
  });

  test('releases show lists the batch: commits, authors and their checks', async () => {
    await t.client.reportCheck('shop', { commit: A, name: 'ci/test', state: 'success' });
    const waiting = (await t.client.getPipeline('shop')).stages.find((s) => s.name === 'staging')?.waiting[0];
    assert.ok(waiting);
    const shown = await slipway(t, ['releases', 'show', waiting.id, '--project', 'shop']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /staging v\d+ +waiting/);
    assert.match(shown.stdout, /batch: 1 commit by 1 author/);
    const detail = JSON.parse((await slipway(t, ['releases', 'show', waiting.id, '--project', 'shop', '--json'])).stdout) as ReleaseDetail;
    assert.equal(detail.batch?.commits[0]?.sha, B);
    assert.equal(detail.batch?.commits[0]?.author, 'Bea');
    const missing = await slipway(t, ['releases', 'show', 'rel-nope', '--project', 'shop']);
    assert.equal(missing.code, 3);
  });

  test('promote --commit takes the deployment that commit built; lineage refusals exit 5 and name the environment', async () => {
    const refused = await slipway(t, ['promote', '--commit', A, '--env', 'production', '--project', 'shop']);
    assert.equal(refused.code, 3, 'A was uploaded, never built: no build to take it from');
    assert.match(refused.stderr, /COMMIT_NOT_FOUND/);
    const stranger = await deployFiles(t.client, 'shop', { 'index.html': 'stranger' });
    const lineage = await slipway(t, ['promote', stranger.id, '--env', 'production', '--project', 'shop']);
    assert.equal(lineage.code, 5);
    assert.match(lineage.stderr, /LINEAGE_VIOLATION/);
    assert.match(lineage.stderr, /staging has not run/);
    const both = await slipway(t, ['promote', stranger.id, '--commit', A, '--env', 'production', '--project', 'shop']);
    assert.equal(both.code, 2);
  });
});
