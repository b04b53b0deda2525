import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backends } from './support/backends.ts';
import { rejectsWithCode } from './support/assert.ts';
import { slipway } from './support/cli.ts';
import { postHook } from './support/webhook-payloads.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * What the dashboard's Settings page calls beyond the plain API. Rotating a project's webhook secret: the server makes a strong random one, answers it once
 * with the hook URLs, the old secret stops verifying deliveries at once, the audit log says it
 * happened without quoting either secret, and only a deployer or more may do it.
 */

const OLD_SECRET = 'old-webhook-secret-1234';

/** A GitHub `ping` signed with `secret`; answers the status. */
async function ping(t: TestServer, project: string, secret: string): Promise<number> {
  const body = JSON.stringify({ zen: 'Design for failure.', hook_id: 7 });
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const answer = await postHook(t.server.port, `/hooks/github?project=${project}`, body, {
    'content-type': 'application/json',
    'x-github-event': 'ping',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': signature,
  });
  return answer.status;
}

for (const backend of backends) {
  describe(`webhook secret rotation (${backend.name})`, () => {
    let t: TestServer;
    let viewer: string;
    let deployer: string;

    before(async () => {
      t = await startTestServer(backend, { allowLocalRepos: false });
      await t.client.createProject('shop', { repo: 'https://git.example.com/acme/shop.git', webhookSecret: OLD_SECRET });
      viewer = (await t.client.createToken({ name: 'viewer', role: 'viewer' })).secret;
      deployer = (await t.client.createToken({ name: 'deployer', role: 'deployer', project: 'shop' })).secret;
    });

    after(async () => {
      await t?.dispose();
    });

    test('a deployer gets a new random secret once; the old one stops verifying, the new one verifies', async () => {
      assert.equal(await ping(t, 'shop', OLD_SECRET), 200);
      const rotated = await t.clientWith(deployer).rotateWebhookSecret('shop');
      assert.match(rotated.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'GitLab signing-token form: whsec_ and 32 random bytes in base64');
      assert.equal(rotated.project.hasWebhookSecret, true);
      assert.equal(rotated.hooks.github, `${t.server.url}/hooks/github`);
      assert.equal(rotated.hooks.gitlab, `${t.server.url}/hooks/gitlab`);
      assert.equal(rotated.hooks.generic, `${t.server.url}/hooks/generic?project=shop`);
      assert.equal(await ping(t, 'shop', OLD_SECRET), 401);
      assert.equal(await ping(t, 'shop', rotated.secret), 200);

      const again = await t.client.rotateWebhookSecret('shop');
      assert.notEqual(again.secret, rotated.secret);
      assert.equal(await ping(t, 'shop', rotated.secret), 401);

      const events = (await t.client.listEvents({ project: 'shop' })).events.filter((e) => e.action === 'project.webhook_secret_rotate');
      assert.equal(events.length, 2);
      assert.deepEqual(events.map((e) => e.before), [{ hadSecret: true }, { hadSecret: true }]);
      const logged = JSON.stringify(await t.client.listEvents());
      assert.ok(!logged.includes(rotated.secret) && !logged.includes(again.secret) && !logged.includes(OLD_SECRET), 'no secret in the audit log');
      const shown = JSON.stringify(await t.client.getProjectStatus('shop'));
      assert.ok(!shown.includes(again.secret), 'the project never shows its secret back');
    });

    test('a project without a secret gets its first one', async () => {
      await t.client.createProject('blog', { repo: 'https://git.example.com/acme/blog.git' });
      assert.equal((await t.client.getProjectStatus('blog')).project.hasWebhookSecret, false);
      const rotated = await t.client.rotateWebhookSecret('blog');
      assert.equal((await t.client.getProjectStatus('blog')).project.hasWebhookSecret, true);
      assert.equal(await ping(t, 'blog', rotated.secret), 200);
      const event = (await t.client.listEvents({ project: 'blog' })).events.find((e) => e.action === 'project.webhook_secret_rotate');
      assert.deepEqual(event?.before, { hadSecret: false });
    });

    test('a viewer is refused, an unknown project is not found, and the secret stays', async () => {
      const before = (await t.client.listEvents({ project: 'shop' })).events.length;
      await rejectsWithCode(t.clientWith(viewer).rotateWebhookSecret('shop'), 'FORBIDDEN', 403);
      await rejectsWithCode(t.client.rotateWebhookSecret('nope'), 'PROJECT_NOT_FOUND', 404);
      await rejectsWithCode(t.clientWith(deployer).rotateWebhookSecret('blog'), 'PROJECT_NOT_FOUND', 404);
      assert.equal((await t.client.listEvents({ project: 'shop' })).events.length, before, 'nothing recorded');
    });

    test('a refused repository URL changes nothing, not even a default branch sent with it', async () => {
      const before = await t.client.getProjectStatus('shop');
      for (const repo of ['file:///etc/passwd', 'https://user:pw@127.0.0.1/acme/shop.git']) {
        await rejectsWithCode(t.client.updateProject('shop', { repo, defaultBranch: 'trunk' }), 'REPO_URL_FORBIDDEN', 400);
      }
      const after = await t.client.getProjectStatus('shop');
      assert.equal(after.project.defaultBranch, before.project.defaultBranch);
      assert.equal(after.project.repo, before.project.repo);
    });

    test('slipway projects set --rotate-webhook-secret prints the new secret last, once', async () => {
      const run = await slipway(t, ['projects', 'set', 'shop', '--rotate-webhook-secret']);
      assert.equal(run.code, 0, run.stderr);
      const secret = run.stdout.trim().split('\n').at(-1) ?? '';
      assert.match(secret, /^whsec_/);
      assert.match(run.stdout, /hooks\/github/);
      assert.equal(await ping(t, 'shop', secret), 200);

      const json = await slipway(t, ['projects', 'set', 'shop', '--rotate-webhook-secret', '--json']);
      assert.equal(json.code, 0, json.stderr);
      const answer = JSON.parse(json.stdout) as { secret: string; project: { name: string } };
      assert.equal(answer.project.name, 'shop');
      assert.equal(await ping(t, 'shop', answer.secret), 200);

      const both = await slipway(t, ['projects', 'set', 'shop', '--rotate-webhook-secret', '--clear-webhook-secret']);
      assert.equal(both.code, 2, 'one secret option at a time');
      assert.equal(await ping(t, 'shop', answer.secret), 200, 'a refused command changed nothing');
    });
  });
}
