import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Clock } from '../src/core/clock.ts';
import type { Delivery } from '../src/protocol/api.ts';
import { SlipwayClient } from '../src/protocol/client.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { ZERO_SHA } from '../src/server/services/pushes.ts';
import { signHex, signStandardWebhook } from '../src/server/webhooks/signatures.ts';
import { DEFAULT_WEBHOOK_BODY_LIMIT } from '../src/server/webhooks/webhook-routes.ts';
import { openStore } from '../src/store/open-store.ts';
import { FsBlobs } from '../src/blobs/fs/fs-blobs.ts';
import { systemClock } from '../src/core/clock.ts';
import { defaultManifestLimits } from '../src/core/manifest.ts';
import type { ServiceDeps } from '../src/server/services/deps.ts';
import { Signal } from '../src/server/services/signal.ts';
import { jobHandlers } from '../src/server/jobs/handlers.ts';
import { createJobWorker } from '../src/server/jobs/job-queue.ts';
import { JOB_KINDS } from '../src/server/jobs/kinds.ts';
import { queueDeliveries } from '../src/server/webhooks/deliveries.ts';
import { pino } from 'pino';
import type { DeliveryPush, Store } from '../src/store/store.ts';
import { backends, TEST_SECRET_KEY, type TestBackend } from './support/backends.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/server.ts';

// Real HTTP against a real server on each backend, with payloads shaped like the ones GitHub
// and GitLab send (trimmed of fields nobody reads, but keeping their structure and types).

const commit = () => randomBytes(20).toString('hex');

interface Repo {
  owner: string;
  name: string;
}

function githubRepository({ owner, name }: Repo) {
  return {
    id: 1296269,
    node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
    name,
    full_name: `${owner}/${name}`,
    private: false,
    owner: { name: owner, login: owner, id: 1, type: 'Organization' },
    html_url: `https://github.com/${owner}/${name}`,
    url: `https://api.github.com/repos/${owner}/${name}`,
    git_url: `git://github.com/${owner}/${name}.git`,
    ssh_url: `git@github.com:${owner}/${name}.git`,
    clone_url: `https://github.com/${owner}/${name}.git`,
    svn_url: `https://github.com/${owner}/${name}`,
    default_branch: 'main',
    master_branch: 'main',
    pushed_at: 1735689600,
    created_at: 1735600000,
  };
}

function githubCommit(repo: Repo, id: string, message: string) {
  return {
    id,
    tree_id: commit(),
    distinct: true,
    message,
    timestamp: '2025-01-01T12:00:00+01:00',
    url: `https://github.com/${repo.owner}/${repo.name}/commit/${id}`,
    author: { name: 'Mona Lisa', email: 'mona@example.com', username: 'mona' },
    committer: { name: 'GitHub', email: 'noreply@github.com', username: 'web-flow' },
    added: [],
    removed: [],
    modified: ['src/checkout.ts'],
  };
}

function githubPush(repo: Repo, fields: { ref?: string; before?: string; after?: string; deleted?: boolean } = {}) {
  const ref = fields.ref ?? 'refs/heads/main';
  const after = fields.deleted ? ZERO_SHA : (fields.after ?? commit());
  const before = fields.before ?? commit();
  const head = fields.deleted ? null : githubCommit(repo, after, 'Fix the checkout total\n\nRounding was off by a cent.');
  return {
    ref,
    before,
    after,
    repository: githubRepository(repo),
    pusher: { name: 'mona', email: 'mona@example.com' },
    sender: { login: 'mona', id: 2, type: 'User' },
    created: before === ZERO_SHA,
    deleted: fields.deleted ?? false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/${repo.owner}/${repo.name}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits: head ? [head] : [],
    head_commit: head,
  };
}

function githubPing(repo: Repo) {
  return {
    zen: 'Design for failure.',
    hook_id: 512345678,
    hook: {
      type: 'Repository',
      id: 512345678,
      name: 'web',
      active: true,
      events: ['push'],
      config: { content_type: 'json', insecure_ssl: '0', url: 'https://slipway.example.com/hooks/github' },
      updated_at: '2025-01-01T12:00:00Z',
      created_at: '2025-01-01T12:00:00Z',
    },
    repository: githubRepository(repo),
    sender: { login: 'mona', id: 2, type: 'User' },
  };
}

function gitlabProject(repo: Repo) {
  const path = `${repo.owner}/${repo.name}`;
  return {
    id: 15,
    name: repo.name,
    description: '',
    web_url: `https://gitlab.example.com/${path}`,
    avatar_url: null,
    git_ssh_url: `git@gitlab.example.com:${path}.git`,
    git_http_url: `https://gitlab.example.com/${path}.git`,
    namespace: repo.owner,
    visibility_level: 0,
    path_with_namespace: path,
    default_branch: 'main',
    ci_config_path: null,
    homepage: `https://gitlab.example.com/${path}`,
    url: `git@gitlab.example.com:${path}.git`,
    ssh_url: `git@gitlab.example.com:${path}.git`,
    http_url: `https://gitlab.example.com/${path}.git`,
  };
}

function gitlabPush(repo: Repo, fields: { after?: string; before?: string; ref?: string } = {}) {
  const after = fields.after ?? commit();
  const project = gitlabProject(repo);
  return {
    object_kind: 'push',
    event_name: 'push',
    before: fields.before ?? commit(),
    after,
    ref: fields.ref ?? 'refs/heads/main',
    ref_protected: true,
    checkout_sha: after === ZERO_SHA ? null : after,
    message: null,
    user_id: 4,
    user_name: 'John Smith',
    user_username: 'jsmith',
    user_email: '',
    user_avatar: 'https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=8://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80',
    project_id: 15,
    project,
    commits: [
      {
        id: after,
        message: 'Update Catalan translation to e38cb41.\n',
        title: 'Update Catalan translation to e38cb41.',
        timestamp: '2025-01-01T12:00:00+02:00',
        url: `${project.web_url}/-/commit/${after}`,
        author: { name: 'Jordi Mallach', email: 'jordi@softcatala.org' },
        added: ['CHANGELOG'],
        modified: ['app/controller/application.rb'],
        removed: [],
      },
    ],
    total_commits_count: 1,
    push_options: {},
    repository: {
      name: repo.name,
      url: project.url,
      description: '',
      homepage: project.homepage,
      git_http_url: project.git_http_url,
      git_ssh_url: project.git_ssh_url,
      visibility_level: 0,
    },
  };
}

function gitlabTagPush(repo: Repo, fields: { tagObject: string; commit: string; tag: string }) {
  const project = gitlabProject(repo);
  return {
    object_kind: 'tag_push',
    event_name: 'tag_push',
    before: ZERO_SHA,
    after: fields.tagObject,
    ref: `refs/tags/${fields.tag}`,
    ref_protected: false,
    checkout_sha: fields.commit,
    message: `Release ${fields.tag}`,
    user_id: 1,
    user_name: 'John Smith',
    user_username: 'jsmith',
    user_avatar: 'https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=8://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80',
    project_id: 1,
    project,
    commits: [],
    total_commits_count: 0,
    push_options: {},
    repository: { name: repo.name, url: project.url, description: '', homepage: project.homepage, git_http_url: project.git_http_url, git_ssh_url: project.git_ssh_url, visibility_level: 0 },
  };
}

interface HookResponse {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

/** A POST over real HTTP with exactly these headers and bytes. */
function post(port: number, path: string, body: Buffer | string, headers: Record<string, string>, chunked = false): Promise<HookResponse> {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: chunked ? headers : { 'content-length': String(bytes.length), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as HookResponse['body']) });
        });
        res.on('error', reject);
      },
    );
    // The server may answer (413) and close before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    if (chunked) {
      for (let i = 0; i < bytes.length; i += 64 * 1024) req.write(bytes.subarray(i, i + 64 * 1024));
      req.end();
    } else {
      req.end(bytes);
    }
  });
}

/**
 * Waits until the queue has processed every delivery of a project (none pending) and returns
 * them, newest first. Acks only queue: every assertion about builds comes after this.
 */
async function processed(client: SlipwayClient, project: string): Promise<Delivery[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { deliveries } = await client.listDeliveries(project, { limit: 500 });
    if (deliveries.every((d) => d.state !== 'pending')) return deliveries;
    if (Date.now() > deadline) throw new Error(`deliveries of ${project} still pending: ${JSON.stringify(deliveries.filter((d) => d.state === 'pending'))}`);
    await sleep(20);
  }
}

/** A clock the test can move, to show that a delivery id is remembered an hour later. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => void (offset += ms) };
}

for (const backend of backends) {
  describe(`webhooks on ${backend.name}`, () => {
    let t: TestServer;
    const clock = movableClock();
    let counter = 0;

    before(async () => {
      // No runner: the builds stay queued, so the tests see exactly what the webhooks queued.
      t = await startTestServer(backend, { clock, runners: 0 });
    });
    after(() => t.dispose());

    /** A fresh project with an external repository and a webhook secret, so each test counts its own builds. */
    async function project(host: 'github' | 'gitlab', options: { secret?: string | null } = {}) {
      const name = `shop-${++counter}`;
      const repo: Repo = { owner: 'acme', name };
      const secret = options.secret === undefined ? `whsec-${randomBytes(12).toString('hex')}` : options.secret;
      const url = host === 'github' ? `https://github.com/acme/${name}.git` : `https://gitlab.example.com/acme/${name}`;
      await t.client.createProject(name, { repo: url, ...(secret === null ? {} : { webhookSecret: secret }) });
      return { name, repo, secret: secret ?? '' };
    }

    /** The project's builds, once its queued deliveries are processed. */
    const builds = async (name: string) => {
      await processed(t.client, name);
      return (await t.client.listBuilds(name)).builds;
    };

    function sendGithub(payload: unknown, secret: string, headers: Record<string, string> = {}, query = '') {
      const body = JSON.stringify(payload);
      return post(t.server.port, `/hooks/github${query}`, body, {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/f1aeb32',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-github-hook-id': '512345678',
        'x-hub-signature-256': signHex(secret, body),
        ...headers,
      });
    }

    function gitlabSigning(secret: string, body: string, id = `msg_${randomUUID()}`, at = clock.now()) {
      const timestamp = String(Math.floor(at.getTime() / 1000));
      return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signStandardWebhook(secret, id, timestamp, body) };
    }

    function sendGitlab(payload: unknown, headers: Record<string, string>) {
      return post(t.server.port, '/hooks/gitlab', JSON.stringify(payload), {
        'content-type': 'application/json',
        'user-agent': 'GitLab/17.8.0',
        'x-gitlab-event': 'Push Hook',
        'x-gitlab-event-uuid': randomUUID(),
        'x-gitlab-webhook-uuid': randomUUID(),
        'idempotency-key': randomUUID(),
        'x-gitlab-instance': 'https://gitlab.example.com',
        ...headers,
      });
    }

    describe('GitHub', () => {
      test('a correctly signed push queues one build of its commit, fetched from the project repository', async () => {
        const p = await project('github');
        const payload = githubPush(p.repo);
        const delivery = randomUUID();
        const res = await sendGithub(payload, p.secret, { 'x-github-delivery': delivery });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        // The ack only queues: no build id exists yet, so none is promised.
        assert.deepEqual(res.body, { accepted: true, queued: true, delivery, projects: [p.name] });
        const [build, ...rest] = await builds(p.name);
        assert.ok(build);
        assert.deepEqual(rest, []);
        const [recorded, ...others] = await processed(t.client, p.name);
        assert.deepEqual(others, []);
        assert.ok(recorded);
        assert.equal(recorded.provider, 'github');
        assert.equal(recorded.id, delivery, "the provider's own delivery id, not a composite key");
        assert.equal(recorded.project, p.name);
        assert.equal(recorded.state, 'done');
        assert.deepEqual(recorded.builds, [build.id]);
        assert.equal(recorded.error, null);
        assert.ok(recorded.processedAt !== null && recorded.processedAt >= recorded.receivedAt, JSON.stringify(recorded));
        assert.deepEqual(recorded.refs, [{ ref: 'refs/heads/main', before: payload.before, after: payload.after }]);
        assert.equal(build.commit, payload.after);
        assert.equal(build.ref, 'refs/heads/main');
        assert.equal(build.branch, 'main');
        assert.equal(build.trigger, 'github');
        assert.equal(build.sourceUrl, `https://github.com/acme/${p.name}`);
        assert.equal(build.author, 'Mona Lisa');
        assert.match(build.message ?? '', /^Fix the checkout total/);
        assert.equal(build.createdBy, 'github');
      });

      test('a tampered body, a wrong secret, a missing or malformed signature are refused and change nothing', async () => {
        const p = await project('github');
        const payload = githubPush(p.repo);
        const body = JSON.stringify(payload);
        const good = signHex(p.secret, body);
        const hex = good.slice('sha256='.length);
        const delivery = randomUUID();
        const base = { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': delivery };
        const attempts: [string, string, Record<string, string>][] = [
          ['tampered body', body.replace(payload.after, commit()), { 'x-hub-signature-256': good }],
          ['wrong secret', body, { 'x-hub-signature-256': signHex(`${p.secret}x`, body) }],
          ['missing header', body, {}],
          ['truncated hex', body, { 'x-hub-signature-256': `sha256=${hex.slice(0, 62)}` }],
          ['odd-length hex', body, { 'x-hub-signature-256': `sha256=${hex.slice(0, 63)}` }],
          ['sha1 signature', body, { 'x-hub-signature-256': `sha1=${hex.slice(0, 40)}` }],
          ['empty signature', body, { 'x-hub-signature-256': 'sha256=' }],
        ];
        for (const [what, bytes, headers] of attempts) {
          const res = await post(t.server.port, '/hooks/github', bytes, { ...base, ...headers });
          assert.equal(res.status, 401, what);
          assert.equal(res.body.error?.code, 'WEBHOOK_SIGNATURE_INVALID', what);
        }
        assert.deepEqual(await builds(p.name), []);
        assert.deepEqual(await processed(t.client, p.name), [], 'a refused delivery is not queued');
        // No refused attempt recorded the delivery id: the genuine delivery with that id still counts.
        const res = await post(t.server.port, '/hooks/github', body, { ...base, 'x-hub-signature-256': good });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.equal((await builds(p.name)).length, 1);
      });

      test('the same delivery at once, and again an hour later, queues one build', async () => {
        const p = await project('github');
        const payload = githubPush(p.repo);
        const delivery = randomUUID();
        const results = await Promise.all(Array.from({ length: 8 }, () => sendGithub(payload, p.secret, { 'x-github-delivery': delivery })));
        assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 202]);
        for (const r of results.filter((r) => r.status === 200)) assert.deepEqual(r.body, { duplicate: true, delivery, projects: [p.name] });
        assert.equal((await builds(p.name)).length, 1);
        // One queue entry, so the push was recorded once (a second record would not add a build, but would add an event).
        assert.deepEqual((await processed(t.client, p.name)).map((d) => [d.id, d.state]), [[delivery, 'done']]);

        clock.advance(60 * 60 * 1000);
        const later = await sendGithub(payload, p.secret, { 'x-github-delivery': delivery });
        assert.equal(later.status, 200);
        assert.equal(later.body.duplicate, true);
        assert.equal((await builds(p.name)).length, 1);
        assert.equal((await processed(t.client, p.name)).length, 1);
        const pushes = (await t.client.listEvents({ project: p.name })).events.filter((e) => e.action === 'git.push');
        assert.equal(pushes.length, 1, 'the push was recorded once');
      });

      test('distinct deliveries of one commit (the same commit pushed to two branches) build it once', async () => {
        const p = await project('github');
        const sha = commit();
        const a = await sendGithub(githubPush(p.repo, { ref: 'refs/heads/main', after: sha }), p.secret);
        const b = await sendGithub(githubPush(p.repo, { ref: 'refs/heads/release', after: sha }), p.secret);
        assert.equal(a.status, 202);
        assert.equal(b.status, 202);
        const [build, ...rest] = await builds(p.name);
        assert.deepEqual(rest, []);
        const recorded = await processed(t.client, p.name);
        assert.deepEqual(
          recorded.map((d) => [d.id, d.state, d.builds]),
          [b, a].map((r) => [r.body.delivery, 'done', [build?.id]]),
          'both deliveries name the one build',
        );
      });

      test('ping is answered after its signature is checked, and builds nothing', async () => {
        const p = await project('github');
        const res = await sendGithub(githubPing(p.repo), p.secret, { 'x-github-event': 'ping' });
        assert.equal(res.status, 200);
        assert.equal(res.body.ok, true);
        assert.equal(res.body.zen, 'Design for failure.');
        assert.equal(res.body.hookId, 512345678);
        const forged = await sendGithub(githubPing(p.repo), 'not-the-secret', { 'x-github-event': 'ping' });
        assert.equal(forged.status, 401);
        assert.deepEqual(await builds(p.name), []);
        assert.deepEqual(await processed(t.client, p.name), [], 'a ping queues nothing');
      });

      test('other events are acknowledged and ignored', async () => {
        const p = await project('github');
        const res = await sendGithub({ action: 'opened', issue: { number: 1 }, repository: githubRepository(p.repo) }, p.secret, {
          'x-github-event': 'issues',
        });
        assert.equal(res.status, 202);
        assert.equal(res.body.ignored, true);
        assert.equal(res.body.event, 'issues');
        assert.deepEqual(await builds(p.name), []);
        assert.deepEqual(await processed(t.client, p.name), [], 'an ignored event queues nothing');
      });

      test('a branch delete builds nothing and retires the branch preview', async () => {
        const p = await project('github');
        const sha = commit();
        await sendGithub(githubPush(p.repo, { ref: 'refs/heads/feature/Blue', after: sha }), p.secret);
        const res = await sendGithub(githubPush(p.repo, { ref: 'refs/heads/feature/Blue', before: sha, deleted: true }), p.secret);
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.equal((await builds(p.name)).length, 1);
        const [deleted] = await processed(t.client, p.name);
        assert.ok(deleted);
        assert.equal(deleted.id, res.body.delivery);
        assert.equal(deleted.state, 'done');
        assert.deepEqual(deleted.builds, [], 'a delete queues no build');
        assert.deepEqual(deleted.refs, [{ ref: 'refs/heads/feature/Blue', before: sha, after: ZERO_SHA }]);
        const status = await t.client.getProjectStatus(p.name);
        const preview = status.environments.find((e) => e.name === 'preview-feature-blue');
        assert.ok(preview?.retiredAt, 'the preview of the deleted branch is retired');
      });

      test('the form-encoded content type (payload=<json>) is verified over the raw form body', async () => {
        const p = await project('github');
        const payload = githubPush(p.repo);
        const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
        const res = await post(t.server.port, '/hooks/github', body, {
          'content-type': 'application/x-www-form-urlencoded',
          'x-github-event': 'push',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': signHex(p.secret, body),
        });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.equal((await builds(p.name))[0]?.commit, payload.after);
      });

      test('?project= picks the project whatever repository the payload names', async () => {
        const p = await project('github');
        const payload = githubPush({ owner: 'someone-else', name: 'fork' });
        const res = await sendGithub(payload, p.secret, {}, `?project=${p.name}`);
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.equal((await builds(p.name))[0]?.commit, payload.after);
      });

      test('an unknown repository or project is 404; a project without a secret refuses webhooks', async () => {
        const unknown = await sendGithub(githubPush({ owner: 'acme', name: 'nowhere' }), 'whatever-secret');
        assert.equal(unknown.status, 404);
        assert.equal(unknown.body.error?.code, 'PROJECT_NOT_FOUND');
        const byName = await sendGithub(githubPush({ owner: 'acme', name: 'nowhere' }), 'whatever-secret', {}, '?project=nowhere');
        assert.equal(byName.status, 404);
        assert.equal(byName.body.error?.code, 'PROJECT_NOT_FOUND');

        const p = await project('github', { secret: null });
        const open = await sendGithub(githubPush(p.repo), '');
        assert.equal(open.status, 403);
        assert.equal(open.body.error?.code, 'FORBIDDEN');
        assert.match(open.body.error?.message ?? '', /no webhook secret/);
        assert.deepEqual(await builds(p.name), []);
      });

      test('projects sharing a repository each build a delivery their own secret verifies', async () => {
        const a = await project('github');
        const shared = `https://github.com/acme/${a.name}`;
        const b = `${a.name}-b`;
        const c = `${a.name}-c`;
        await t.client.createProject(b, { repo: `${shared}/`, webhookSecret: a.secret });
        await t.client.createProject(c, { repo: shared, webhookSecret: `${a.secret}-other` });
        const payload = githubPush(a.repo);
        const res = await sendGithub(payload, a.secret);
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.deepEqual(res.body.projects, [a.name, b]);
        assert.equal((await builds(a.name))[0]?.commit, payload.after);
        assert.equal((await builds(b))[0]?.commit, payload.after);
        assert.deepEqual(await builds(c), []);
        assert.deepEqual(await processed(t.client, c), []);
      });

      test('a delivery new to some of its projects queues for those and names the others in duplicateFor', async () => {
        const a = await project('github');
        const b = `${a.name}-b`;
        await t.client.createProject(b, { repo: `https://github.com/acme/${a.name}`, webhookSecret: a.secret });
        const payload = githubPush(a.repo);
        const delivery = randomUUID();
        const first = await sendGithub(payload, a.secret, { 'x-github-delivery': delivery }, `?project=${a.name}`);
        assert.deepEqual(first.body, { accepted: true, queued: true, delivery, projects: [a.name] });
        const both = await sendGithub(payload, a.secret, { 'x-github-delivery': delivery });
        assert.equal(both.status, 202, JSON.stringify(both.body));
        assert.deepEqual(both.body, { accepted: true, queued: true, delivery, projects: [b], duplicateFor: [a.name] });
        for (const name of [a.name, b]) {
          assert.deepEqual((await processed(t.client, name)).map((d) => [d.id, d.state]), [[delivery, 'done']], name);
          assert.equal((await builds(name))[0]?.commit, payload.after, name);
        }
      });

      test('one event sent to two projects by two hooks (one X-GitHub-Delivery) builds in both, once each', async () => {
        // GitHub gives every hook that one event triggers the same delivery id.
        const a = await project('github');
        const b = await project('github');
        const payload = githubPush(a.repo);
        const delivery = randomUUID();
        const body = JSON.stringify(payload);
        const send = (name: string, secret: string) =>
          post(t.server.port, `/hooks/github?project=${name}`, body, {
            'content-type': 'application/json',
            'x-github-event': 'push',
            'x-github-delivery': delivery,
            'x-hub-signature-256': signHex(secret, body),
          });
        const [first, second] = await Promise.all([send(a.name, a.secret), send(b.name, b.secret)]);
        assert.equal(first?.status, 202, JSON.stringify(first?.body));
        assert.equal(second?.status, 202, JSON.stringify(second?.body));
        assert.equal((await builds(a.name))[0]?.commit, payload.after);
        assert.equal((await builds(b.name))[0]?.commit, payload.after);
        const retry = await send(b.name, b.secret);
        assert.equal(retry.status, 200);
        assert.equal(retry.body.duplicate, true);
        for (const name of [a.name, b.name]) assert.deepEqual((await processed(t.client, name)).map((d) => d.id), [delivery], name);
      });

      test('a body over the limit is refused with 413 before it is read, announced or chunked', async () => {
        const p = await project('github');
        const payload = { ...githubPush(p.repo), padding: 'x'.repeat(DEFAULT_WEBHOOK_BODY_LIMIT) };
        const body = JSON.stringify(payload);
        const headers = {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': signHex(p.secret, body),
        };
        const announced = await post(t.server.port, '/hooks/github', body, headers);
        assert.equal(announced.status, 413);
        assert.equal(announced.body.error?.code, 'PAYLOAD_TOO_LARGE');
        const chunked = await post(t.server.port, '/hooks/github', body, headers, true);
        assert.equal(chunked.status, 413);
        assert.equal(chunked.body.error?.code, 'PAYLOAD_TOO_LARGE');
        assert.deepEqual(await builds(p.name), []);
        assert.deepEqual(await processed(t.client, p.name), []);
      });

      test('a verified payload that is not a push is INVALID_REQUEST and records nothing', async () => {
        const p = await project('github');
        const bad = { ...githubPush(p.repo), after: 'not-a-commit' };
        const res = await sendGithub(bad, p.secret, {}, `?project=${p.name}`);
        assert.equal(res.status, 400);
        assert.equal(res.body.error?.code, 'INVALID_REQUEST');
        const noDelivery = await sendGithub(githubPush(p.repo), p.secret, { 'x-github-delivery': '' });
        assert.equal(noDelivery.status, 400);
        assert.deepEqual(await builds(p.name), []);
        assert.deepEqual(await processed(t.client, p.name), []);
      });
    });

    describe('GitLab', () => {
      test('X-Gitlab-Token equal to the secret queues a build; a wrong or missing token is refused', async () => {
        const p = await project('gitlab');
        const payload = gitlabPush(p.repo);
        const res = await sendGitlab(payload, { 'x-gitlab-token': p.secret });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        const [build] = await builds(p.name);
        assert.equal(build?.commit, payload.after);
        assert.equal(build?.trigger, 'gitlab');
        assert.equal(build?.sourceUrl, `https://gitlab.example.com/acme/${p.name}`);
        assert.equal(build?.author, 'Jordi Mallach');

        const wrong: Record<string, string>[] = [{ 'x-gitlab-token': `${p.secret}x` }, { 'x-gitlab-token': p.secret.slice(0, -1) }, {}];
        for (const headers of wrong) {
          const refused = await sendGitlab(gitlabPush(p.repo), headers);
          assert.equal(refused.status, 401);
          assert.equal(refused.body.error?.code, 'WEBHOOK_SIGNATURE_INVALID');
        }
        assert.equal((await builds(p.name)).length, 1);
      });

      test('the signing-token headers (Standard Webhooks) are verified, including a whsec_ key', async () => {
        const key = `whsec_${randomBytes(32).toString('base64')}`;
        const p = await project('gitlab', { secret: key });
        const payload = gitlabPush(p.repo);
        const body = JSON.stringify(payload);
        const id = randomUUID();
        const res = await sendGitlab(payload, { ...gitlabSigning(key, body, id), 'idempotency-key': id, 'x-gitlab-event-uuid': randomUUID() });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.equal((await builds(p.name))[0]?.commit, payload.after);

        // A signature over another body, a stale timestamp, or a good token beside a bad signature: refused.
        const other = gitlabPush(p.repo);
        const forged = await sendGitlab(other, gitlabSigning(key, body));
        assert.equal(forged.status, 401);
        const stale = await sendGitlab(other, gitlabSigning(key, JSON.stringify(other), undefined, new Date(clock.now().getTime() - 6 * 60 * 1000)));
        assert.equal(stale.status, 401);
        assert.match(stale.body.error?.message ?? '', /timestamp/);
        const mixed = await sendGitlab(other, { 'x-gitlab-token': key, ...gitlabSigning(key, body) });
        assert.equal(mixed.status, 401);
        assert.equal((await builds(p.name)).length, 1);
      });

      test('a retried delivery (same Idempotency-Key) builds once, at once or later', async () => {
        const p = await project('gitlab');
        const payload = gitlabPush(p.repo);
        const key = randomUUID();
        // GitLab keeps Idempotency-Key on a retry; the event UUID of a resent request may differ.
        const [a, b] = await Promise.all([
          sendGitlab(payload, { 'x-gitlab-token': p.secret, 'idempotency-key': key }),
          sendGitlab(payload, { 'x-gitlab-token': p.secret, 'idempotency-key': key }),
        ]);
        assert.deepEqual([a?.status, b?.status].sort(), [200, 202]);
        clock.advance(60 * 60 * 1000);
        const c = await sendGitlab(payload, { 'x-gitlab-token': p.secret, 'idempotency-key': key });
        assert.equal(c.body.duplicate, true);
        assert.equal((await builds(p.name)).length, 1);
        assert.equal((await processed(t.client, p.name)).length, 1);
      });

      test('an older GitLab without Idempotency-Key is deduplicated by X-Gitlab-Event-UUID', async () => {
        const p = await project('gitlab');
        const payload = gitlabPush(p.repo);
        const uuid = randomUUID();
        const body = JSON.stringify(payload);
        const headers = { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': p.secret, 'x-gitlab-event-uuid': uuid };
        assert.equal((await post(t.server.port, '/hooks/gitlab', body, headers)).status, 202);
        const again = await post(t.server.port, '/hooks/gitlab', body, headers);
        assert.equal(again.status, 200);
        assert.equal(again.body.duplicate, true);
        assert.equal((await builds(p.name)).length, 1);
      });

      test('a Tag Push Hook builds the tagged commit, not the tag object', async () => {
        const p = await project('gitlab');
        const sha = commit();
        const res = await sendGitlab(gitlabTagPush(p.repo, { tagObject: commit(), commit: sha, tag: 'v1.0.0' }), {
          'x-gitlab-event': 'Tag Push Hook',
          'x-gitlab-token': p.secret,
        });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        const [build] = await builds(p.name);
        assert.equal(build?.commit, sha);
        assert.equal(build?.ref, 'refs/tags/v1.0.0');
      });

      test('system hooks and other events are acknowledged and ignored', async () => {
        const p = await project('gitlab');
        for (const event of ['System Hook', 'Merge Request Hook']) {
          const res = await sendGitlab(gitlabPush(p.repo), { 'x-gitlab-event': event, 'x-gitlab-token': p.secret });
          assert.equal(res.status, 202);
          assert.equal(res.body.ignored, true);
        }
        assert.deepEqual(await builds(p.name), []);
        assert.deepEqual(await processed(t.client, p.name), []);
      });
    });

    describe('generic', () => {
      function sendGeneric(query: string, payload: unknown, secret: string, headers: Record<string, string> = {}) {
        const body = JSON.stringify(payload);
        return post(t.server.port, `/hooks/generic${query}`, body, {
          'content-type': 'application/json',
          'x-slipway-signature': signHex(secret, body),
          ...headers,
        });
      }

      test('a signed {ref, before, after, delivery} queues a build once per delivery', async () => {
        const p = await project('github');
        const payload = { ref: 'refs/heads/main', before: ZERO_SHA, after: commit(), delivery: randomUUID() };
        const res = await sendGeneric(`?project=${p.name}`, payload, p.secret);
        assert.equal(res.status, 202, JSON.stringify(res.body));
        const again = await sendGeneric(`?project=${p.name}`, payload, p.secret);
        assert.equal(again.status, 200);
        assert.equal(again.body.duplicate, true);
        assert.deepEqual((await processed(t.client, p.name)).map((d) => [d.provider, d.id, d.state]), [['generic', payload.delivery, 'done']]);
        const [build, ...rest] = await builds(p.name);
        assert.deepEqual(rest, []);
        assert.equal(build?.commit, payload.after);
        assert.equal(build?.trigger, 'generic');
        assert.equal(build?.createdBy, 'webhook');
      });

      test('the delivery id may come as X-Slipway-Delivery; without one the push is refused', async () => {
        const p = await project('github');
        const payload = { ref: 'main', before: ZERO_SHA, after: commit() };
        const missing = await sendGeneric(`?project=${p.name}`, payload, p.secret);
        assert.equal(missing.status, 400);
        assert.equal(missing.body.error?.code, 'INVALID_REQUEST');
        const res = await sendGeneric(`?project=${p.name}`, payload, p.secret, { 'x-slipway-delivery': randomUUID() });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.equal((await builds(p.name))[0]?.ref, 'refs/heads/main');
      });

      test('a bad signature is 401; no ?project= is 400', async () => {
        const p = await project('github');
        const payload = { ref: 'refs/heads/main', before: ZERO_SHA, after: commit(), delivery: randomUUID() };
        const forged = await sendGeneric(`?project=${p.name}`, payload, `${p.secret}-not`);
        assert.equal(forged.status, 401);
        assert.equal(forged.body.error?.code, 'WEBHOOK_SIGNATURE_INVALID');
        const unnamed = await sendGeneric('', payload, p.secret);
        assert.equal(unnamed.status, 400);
        assert.deepEqual(await builds(p.name), []);
      });

      test('a push without `before` is refused: a branch moves only from the head it names', async () => {
        const p = await project('github');
        const res = await sendGeneric(`?project=${p.name}`, { ref: 'refs/heads/main', after: commit(), delivery: randomUUID() }, p.secret);
        assert.equal(res.status, 400);
        assert.equal(res.body.error?.code, 'INVALID_REQUEST');
        assert.match(res.body.error?.message ?? '', /before/);
        assert.deepEqual(await processed(t.client, p.name), []);
      });
    });
  });
}

/** A signed GitHub push to a server, as GitHub sends it. */
function githubDelivery(port: number, payload: unknown, secret: string, delivery = randomUUID()): Promise<HookResponse> {
  const body = JSON.stringify(payload);
  return post(port, '/hooks/github', body, {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': delivery,
    'x-hub-signature-256': signHex(secret, body),
  });
}

interface Replica {
  server: RunningServer;
  client: SlipwayClient;
  dispose(): Promise<void>;
}

/** A server on an existing database, as one more replica (or the same one started again). */
async function startReplica(databaseUrl: string): Promise<Replica> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-replica-'));
  const server = await startServer({ dataDir, port: 0, databaseUrl, adminToken: ADMIN_TOKEN, quiet: true, runners: 0, allowLocalRepos: true, secretKey: TEST_SECRET_KEY.toString('base64') });
  return {
    server,
    client: new SlipwayClient({ url: `http://127.0.0.1:${server.port}`, token: ADMIN_TOKEN }),
    async dispose() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Statements under the Store interface: what no API offers (deleting or renaming a project). */
async function runSql(url: string, statements: string[]): Promise<void> {
  const { connect: connectPostgres } = await import('../src/store/postgres/connect.ts');
  const { connect: connectSqlite } = await import('../src/store/sqlite/connect.ts');
  const conn = url.startsWith('postgres') ? connectPostgres(url) : connectSqlite(url);
  try {
    for (const statement of statements) await sql.raw(statement).execute(conn.db);
  } finally {
    await conn.close();
  }
}

/** A GitHub push delivery as the ack records it, for `queueDeliveries` (the delivery and its job). */
function queuedPush(projectId: string, deliveryId: string, update: { ref?: string; before?: string; after: string }) {
  const push: DeliveryPush = {
    updates: [{ ref: update.ref ?? 'refs/heads/main', before: update.before ?? ZERO_SHA, after: update.after }],
    trigger: 'github',
    actor: 'github',
    sourceUrl: 'https://github.com/acme/queued',
    author: 'Mona Lisa',
    message: 'queued before the crash',
  };
  return { provider: 'github', projectId, deliveryId, receivedAt: new Date().toISOString(), push };
}

/** The commits of a project's recorded pushes (audit events `git.push`), oldest first. */
async function pushedCommits(client: SlipwayClient, project: string): Promise<string[]> {
  const { events } = await client.listEvents({ project, limit: 500 });
  return events
    .filter((e) => e.action === 'git.push')
    .reverse()
    .flatMap((e) => (e.after as { updates: { after: string }[] }).updates.map((u) => u.after));
}

async function withDatabase(backend: TestBackend, fn: (url: string) => Promise<void>): Promise<void> {
  const db = await backend.create();
  try {
    await fn(db.url);
  } finally {
    await db.dispose();
  }
}

for (const backend of backends) {
  describe(`the webhook delivery queue on ${backend.name}`, () => {
    test('deliveries queued while no server ran are recorded at the next start, in order; a deleted project’s ends failed, the rest go on', async () => {
      await withDatabase(backend, async (url) => {
        let replica = await startReplica(url);
        const [kept, gone, renamed] = [
          await replica.client.createProject('kept', { repo: 'https://github.com/acme/kept', webhookSecret: 'whsec-kept-1234' }),
          await replica.client.createProject('gone', { repo: 'https://github.com/acme/gone', webhookSecret: 'whsec-gone-1234' }),
          await replica.client.createProject('before-rename', { repo: 'https://github.com/acme/renamed', webhookSecret: 'whsec-renamed-1234' }),
        ];
        await replica.dispose();

        // What a server that acked these and died before recording them leaves behind.
        const [c1, c2, c3, c4] = [commit(), commit(), commit(), commit()];
        const store: Store = await openStore(url, { secretKey: TEST_SECRET_KEY });
        try {
          // Inserted without their jobs, as by a crash between the two writes of an ack (or before the job queue existed).
          await store.insertWebhookDeliveries([queuedPush(gone.id, 'd-gone', { after: c1 })]);
          await store.insertWebhookDeliveries([queuedPush(kept.id, 'd-1', { after: c2 })]);
          await store.insertWebhookDeliveries([queuedPush(kept.id, 'd-2', { before: c2, after: c3 })]);
          await store.insertWebhookDeliveries([queuedPush(renamed.id, 'd-renamed', { after: c4 })]);
          assert.equal((await store.findNextPendingDelivery())?.deliveryId, 'd-gone', 'all four wait, the deleted project’s first');
        } finally {
          await store.close();
        }
        await runSql(url, [`DELETE FROM projects WHERE id = '${gone.id}'`, `UPDATE projects SET name = 'after-rename' WHERE id = '${renamed.id}'`]);

        replica = await startReplica(url);
        try {
          const recorded = await processed(replica.client, 'kept');
          assert.deepEqual(
            recorded.map((d) => [d.id, d.state, d.builds.length]),
            [
              ['d-2', 'done', 1],
              ['d-1', 'done', 1],
            ],
          );
          assert.deepEqual(await pushedCommits(replica.client, 'kept'), [c2, c3], 'recorded in the order they were queued');
          const { builds } = await replica.client.listBuilds('kept');
          assert.deepEqual(builds.map((b) => [b.commit, b.trigger, b.author]).sort(), [[c2, 'github', 'Mona Lisa'], [c3, 'github', 'Mona Lisa']].sort());

          // A project is its id: renamed since the delivery arrived, it still gets the push.
          const [afterRename] = await processed(replica.client, 'after-rename');
          assert.equal(afterRename?.state, 'done');
          assert.equal((await replica.client.listBuilds('after-rename')).builds[0]?.commit, c4);

          // The deleted project's delivery was first in line: it failed, with why, and did not hold up the others.
          const [failed, ...none] = await replica.server.deps.store.listWebhookDeliveries(gone.id, { limit: 10 });
          assert.deepEqual(none, []);
          assert.equal(failed?.state, 'failed');
          assert.match(failed.error ?? '', new RegExp(`^PROJECT_NOT_FOUND: project ${gone.id} was deleted before its push was recorded`));
          assert.ok(failed.processedAt !== null);
          assert.deepEqual(failed.builds, []);
        } finally {
          await replica.dispose();
        }
      });
    });

    test('a delivery that keeps failing unexpectedly is failed after its last try and does not hold the queue up', async () => {
      await withDatabase(backend, async (url) => {
        const replica = await startReplica(url);
        const project = await replica.client.createProject('stuck', { repo: 'https://github.com/acme/stuck', webhookSecret: 'whsec-stuck-1234' });
        await replica.dispose();
        const store: Store = await openStore(url, { secretKey: TEST_SECRET_KEY });
        const dataDir = await mkdtemp(join(tmpdir(), 'slipway-queue-'));
        const after = commit();
        // A push no code path can record (its updates are not a list): a TypeError, not a SlipwayError.
        const broken = queuedPush(project.id, 'd-broken', { after: commit() });
        await queueDeliveries(store, systemClock, [{ ...broken, push: { ...broken.push, updates: null as unknown as DeliveryPush['updates'] } }]);
        await queueDeliveries(store, systemClock, [queuedPush(project.id, 'd-fine', { after })]);
        const deps: ServiceDeps = {
          store,
          blobs: new FsBlobs(join(dataDir, 'blobs')),
          clock: systemClock,
          urls: { baseDomain: 'localhost', scheme: 'http', port: 7070 },
          limits: { manifest: defaultManifestLimits, maxBlobBytes: 1024, buildTimeoutSeconds: 60 },
          dataDir,
          buildsQueued: new Signal(),
          agentsChanged: new Signal(),
        };
        // Retries come quickly here; the attempts are the kind's.
        const worker = createJobWorker({ deps, handlers: { 'webhook.deliver': jobHandlers['webhook.deliver'] }, log: pino({ level: 'silent' }), backoffMs: () => 20 });
        try {
          await worker.start();
          const deadline = Date.now() + 15_000;
          let rows = await store.listWebhookDeliveries(project.id, { limit: 10 });
          while (rows.some((d) => d.state === 'pending') && Date.now() < deadline) {
            await sleep(20);
            rows = await store.listWebhookDeliveries(project.id, { limit: 10 });
          }
          const byId = Object.fromEntries(rows.map((d) => [d.deliveryId, d]));
          assert.equal(byId['d-broken']?.state, 'failed');
          assert.match(byId['d-broken']?.error ?? '', new RegExp(`^INTERNAL: gave up after ${JOB_KINDS['webhook.deliver'].maxAttempts} tries: `));
          assert.equal(byId['d-fine']?.state, 'done', 'the delivery behind it was recorded');
          assert.equal((await store.listBuilds(project.id, { limit: 10 })).map((b) => b.commitSha).join(), after);
        } finally {
          await worker.stop();
          await store.close();
          await rm(dataDir, { recursive: true, force: true });
        }
      });
    });

    test('a delivery another replica queued (no kick reaches this server) is found by the timer', async () => {
      await withDatabase(backend, async (url) => {
        const replica = await startReplica(url);
        try {
          const project = await replica.client.createProject('polled', { repo: 'https://github.com/acme/polled', webhookSecret: 'whsec-polled-1234' });
          const other: Store = await openStore(url, { secretKey: TEST_SECRET_KEY });
          const after = commit();
          try {
            await queueDeliveries(other, systemClock, [queuedPush(project.id, 'd-elsewhere', { after })]);
          } finally {
            await other.close();
          }
          const [recorded] = await processed(replica.client, 'polled');
          assert.equal(recorded?.state, 'done');
          assert.equal((await replica.client.listBuilds('polled')).builds[0]?.commit, after);
        } finally {
          await replica.dispose();
        }
      });
    });

    test('two servers on one database record each of many deliveries exactly once, in the order they arrived', async (ctx) => {
      await withDatabase(backend, async (url) => {
        const a = await startReplica(url);
        const b = await startReplica(url).catch(async (err: unknown) => {
          await a.dispose();
          throw err;
        });
        try {
          if (!a.server.deps.store.capabilities.concurrentWriters) {
            ctx.skip('one server process owns a SQLite database file');
            return;
          }
          const secret = 'whsec-fleet-1234';
          await a.client.createProject('fleet', { repo: 'https://github.com/acme/fleet', webhookSecret: secret });
          const repo: Repo = { owner: 'acme', name: 'fleet' };
          const ports = [a.server.port, b.server.port];

          // Many at once, to both: each ack kicks its own server's worker, and both drain the one queue.
          const burst = Array.from({ length: 60 }, (_, i) => githubPush(repo, { ref: `refs/heads/burst-${i}` }));
          for (let i = 0; i < burst.length; i += 12) {
            const acks = await Promise.all(burst.slice(i, i + 12).map((payload, j) => githubDelivery(ports[j % 2] ?? 0, payload, secret)));
            assert.deepEqual(acks.map((r) => r.status), acks.map(() => 202), JSON.stringify(acks.find((r) => r.status !== 202)?.body));
          }
          // Then one branch moved again and again, each push acked before the next is sent, alternately.
          const moves: string[] = [];
          for (let i = 0; i < 10; i++) {
            const payload = githubPush(repo, { ref: 'refs/heads/main', before: moves.at(-1) ?? ZERO_SHA });
            moves.push(payload.after);
            assert.equal((await githubDelivery(ports[i % 2] ?? 0, payload, secret)).status, 202);
          }

          const recorded = await processed(a.client, 'fleet');
          assert.equal(recorded.length, 70);
          assert.deepEqual([...new Set(recorded.map((d) => d.state))], ['done']);
          const { builds } = await a.client.listBuilds('fleet', { limit: 500 });
          assert.equal(builds.length, 70);
          const buildOf = new Map(builds.map((build) => [build.commit, build.id]));
          for (const d of recorded) assert.deepEqual(d.builds, [buildOf.get(d.refs[0]?.after ?? '')], d.id);
          // Each push recorded exactly once: a second record would add no build, but a second audit event.
          const pushed = await pushedCommits(a.client, 'fleet');
          assert.equal(pushed.length, 70);
          assert.deepEqual(
            pushed.filter((sha) => moves.includes(sha)),
            moves,
            'main moved through its pushes in the order they arrived',
          );
        } finally {
          await b.dispose();
          await a.dispose();
        }
      });
    });
  });
}
