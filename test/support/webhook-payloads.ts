import { randomBytes } from 'node:crypto';
import { request } from 'node:http';

/**
 * Payloads shaped like the ones GitHub and GitLab send for CI results (trimmed of fields nobody
 * reads, keeping their structure and types), and a POST that sends exact bytes.
 */

export interface Repo {
  owner: string;
  name: string;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export function githubRepository({ owner, name }: Repo) {
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
    default_branch: 'main',
  };
}

const sender = { login: 'mona', id: 2, node_id: 'MDQ6VXNlcjI=', type: 'User', site_admin: false };

/** `X-GitHub-Event: status`: a commit status set through the Statuses API (classic CI integrations). */
export function githubStatus(repo: Repo, fields: { sha: string; state: string; context: string; target_url?: string | null; description?: string | null }) {
  const { owner, name } = repo;
  return {
    id: 6805126730,
    sha: fields.sha,
    name: `${owner}/${name}`,
    target_url: fields.target_url ?? null,
    avatar_url: 'https://avatars.githubusercontent.com/oa/4808?v=4',
    context: fields.context,
    description: fields.description ?? null,
    state: fields.state,
    commit: {
      sha: fields.sha,
      node_id: 'MDY6Q29tbWl0MTg2ODUzMDAyOjZiYTBhOTk4ZmJjYzcxZjY4YmIwMmMyOGQ2ZjQyNzRhYjg4Y2IyNTM=',
      commit: {
        author: { name: 'Mona Lisa', email: 'mona@example.com', date: '2025-01-01T12:00:00Z' },
        committer: { name: 'GitHub', email: 'noreply@github.com', date: '2025-01-01T12:00:00Z' },
        message: 'Fix the checkout total',
        tree: { sha: hex(20), url: `https://api.github.com/repos/${owner}/${name}/git/trees/x` },
        url: `https://api.github.com/repos/${owner}/${name}/git/commits/${fields.sha}`,
        comment_count: 0,
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
      },
      url: `https://api.github.com/repos/${owner}/${name}/commits/${fields.sha}`,
      html_url: `https://github.com/${owner}/${name}/commit/${fields.sha}`,
      comments_url: `https://api.github.com/repos/${owner}/${name}/commits/${fields.sha}/comments`,
      author: sender,
      committer: sender,
      parents: [],
    },
    branches: [{ name: 'main', commit: { sha: fields.sha, url: `https://api.github.com/repos/${owner}/${name}/commits/${fields.sha}` }, protected: false }],
    created_at: '2025-01-01T12:00:55+00:00',
    updated_at: '2025-01-01T12:00:55+00:00',
    repository: githubRepository(repo),
    sender,
  };
}

/** `X-GitHub-Event: check_run`: a run of the Checks API (GitHub Actions jobs, GitHub Apps). */
export function githubCheckRun(
  repo: Repo,
  fields: { action: string; sha: string; name: string; status: string; conclusion?: string | null; details_url?: string | null; title?: string | null },
) {
  const { owner, name } = repo;
  const completed = fields.status === 'completed';
  return {
    action: fields.action,
    check_run: {
      id: 128620228,
      name: fields.name,
      node_id: 'MDg6Q2hlY2tSdW4xMjg2MjAyMjg=',
      head_sha: fields.sha,
      external_id: '',
      url: `https://api.github.com/repos/${owner}/${name}/check-runs/128620228`,
      html_url: `https://github.com/${owner}/${name}/runs/128620228`,
      details_url: fields.details_url === undefined ? `https://github.com/${owner}/${name}/actions/runs/1/job/128620228` : fields.details_url,
      status: fields.status,
      conclusion: fields.conclusion ?? null,
      started_at: '2025-01-01T12:01:12Z',
      completed_at: completed ? '2025-01-01T12:03:40Z' : null,
      output: { title: fields.title ?? null, summary: null, text: null, annotations_count: 0, annotations_url: `https://api.github.com/repos/${owner}/${name}/check-runs/128620228/annotations` },
      check_suite: {
        id: 118578147,
        node_id: 'MDEwOkNoZWNrU3VpdGUxMTg1NzgxNDc=',
        head_branch: 'main',
        head_sha: fields.sha,
        status: fields.status,
        conclusion: fields.conclusion ?? null,
        url: `https://api.github.com/repos/${owner}/${name}/check-suites/118578147`,
        before: hex(20),
        after: fields.sha,
        pull_requests: [],
        app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions' },
        created_at: '2025-01-01T12:00:59Z',
        updated_at: '2025-01-01T12:00:59Z',
      },
      app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions', owner: { login: 'github', id: 9919 } },
      pull_requests: [],
    },
    repository: githubRepository(repo),
    sender,
  };
}

/** `X-Gitlab-Event: Pipeline Hook`. */
export function gitlabPipeline(repo: Repo, fields: { sha: string; status: string; id?: number }) {
  const path = `${repo.owner}/${repo.name}`;
  const webUrl = `https://gitlab.example.com/${path}`;
  return {
    object_kind: 'pipeline',
    object_attributes: {
      id: fields.id ?? 31,
      iid: 3,
      name: 'Pipeline for branch: main',
      ref: 'main',
      tag: false,
      sha: fields.sha,
      before_sha: hex(20),
      source: 'push',
      status: fields.status,
      detailed_status: fields.status,
      stages: ['build', 'test'],
      created_at: '2025-01-01 12:00:00 UTC',
      finished_at: null,
      duration: null,
      variables: [],
      url: `${webUrl}/-/pipelines/${fields.id ?? 31}`,
    },
    user: { id: 1, name: 'Administrator', username: 'root', email: 'admin@example.com' },
    project: {
      id: 1,
      name: repo.name,
      web_url: webUrl,
      path_with_namespace: path,
      default_branch: 'main',
      git_ssh_url: `git@gitlab.example.com:${path}.git`,
      git_http_url: `${webUrl}.git`,
    },
    commit: { id: fields.sha, message: 'test\n', title: 'test', timestamp: '2025-01-01T12:00:00+00:00', url: `${webUrl}/-/commit/${fields.sha}`, author: { name: 'User', email: 'user@gitlab.com' } },
    builds: [],
  };
}

export interface HookResponse {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

/** A POST over real HTTP with exactly these headers and bytes. */
export function postHook(port: number, path: string, body: string, headers: Record<string, string>): Promise<HookResponse> {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(body);
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-length': String(bytes.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as HookResponse['body']) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(bytes);
  });
}
