import type { Generated } from 'kysely';

/** Table shapes as Kysely sees them (snake_case columns, JSON as text, times as ISO text). */
export interface Database {
  projects: {
    id: string;
    name: string;
    created_at: string;
    created_by: string;
    /** Never holds credentials (they are in repo_credentials). */
    repo_url: string | null;
    /** Sealed (store/secret-box.ts); `plain:<secret>` only between migration 007 and the first start with a key. */
    webhook_secret: string | null;
    /** Sealed JSON of RepoCredentials. */
    repo_credentials: string | null;
    deleted_at: string | null;
    deleted_name: string | null;
    purged_at: string | null;
    default_branch: Generated<string>;
  };
  tokens: {
    id: string;
    name: string;
    role: string;
    hash: string;
    created_at: string;
    created_by: string;
    last_used_at: string | null;
    revoked_at: string | null;
    /** The user a personal token acts as; null for a service token. */
    user_id: string | null;
    /** A token scoped to one project reaches nothing else; null: every project its role reaches. */
    project_id: string | null;
    expires_at: string | null;
    /** The agent an `agent` token speaks for (016). */
    agent_id: string | null;
  };
  users: {
    id: string;
    name: string;
    role: string;
    password_hash: string | null;
    password_changed_at: string | null;
    failed_sign_ins: Generated<number>;
    sign_in_blocked_until: string | null;
    created_at: string;
    created_by: string;
    disabled_at: string | null;
  };
  user_emails: {
    email: string;
    user_id: string;
    created_at: string;
  };
  memberships: {
    project_id: string;
    user_id: string;
    role: string;
    created_at: string;
    created_by: string;
  };
  sessions: {
    id: string;
    hash: string;
    user_id: string;
    created_at: string;
    expires_at: string;
    last_seen_at: string;
    revoked_at: string | null;
  };
  uploads: {
    id: string;
    project_id: string;
    manifest_digest: string;
    file_count: number;
    total_bytes: number;
    meta: string;
    created_at: string;
    created_by: string;
    deployment_id: string | null;
  };
  deployments: {
    id: string;
    project_id: string;
    manifest_digest: string;
    file_count: number;
    total_bytes: number;
    meta: string;
    created_at: string;
    created_by: string;
    build_id: string | null;
  };
  environments: {
    id: string;
    project_id: string;
    name: string;
    deployment_id: string | null;
    release_id: string | null;
    release_number: number;
    pinned_by: string | null;
    pinned_at: string | null;
    pinned_reason: string | null;
    locked_by: string | null;
    locked_by_id: string | null;
    locked_at: string | null;
    locked_reason: string | null;
    locked_until: string | null;
    follows: string | null;
    preview: number;
    retired_at: string | null;
    created_at: string;
    /** JSON of the StoredPolicy in force; null when none was ever set. */
    policy: string | null;
    /** `commit <sha>` or `user <name>`. */
    policy_source: string | null;
    policy_updated_at: string | null;
  };
  releases: {
    id: string;
    project_id: string;
    environment_id: string;
    number: number;
    kind: string;
    state: string;
    deployment_id: string;
    previous_deployment_id: string | null;
    replaces_release_id: string | null;
    reason: string | null;
    forced: number;
    created_at: string;
    created_by: string;
    /** Id of who proposed it (a user's or a token's); null for automation. */
    created_by_id?: string | null;
    trigger: string;
    commit_sha: string | null;
    branch: string | null;
    /** JSON of the GateVerdict of the last look. */
    gates: string | null;
    evaluated_at: string | null;
    recheck_at: string | null;
    superseded_by: string | null;
    state_reason: string | null;
    live_at: string | null;
    ended_at: string | null;
    /** JSON of ReleaseBatch. */
    batch: string | null;
    /** 1 for a hotfix's release (015). */
    expedited: number;
    /** The config version it runs with (017); null: none (no config, or older than config). */
    config_version: number | null;
  };
  environment_requirements: { environment_id: string; required_project_id: string };
  domains: { hostname: string; project_id: string; environment: string; created_at: string; created_by: string };
  events: {
    id: Generated<number>;
    at: string;
    actor: string;
    action: string;
    project_id: string | null;
    environment: string | null;
    target: string | null;
    reason: string | null;
    before: string | null;
    after: string | null;
  };
  branches: { project_id: string; name: string; head: string; updated_at: string };
  builds: {
    id: string;
    project_id: string;
    commit_sha: string;
    ref: string;
    branch: string | null;
    state: string;
    source_url: string | null;
    trigger_kind: string;
    created_at: string;
    created_by: string;
    started_at: string | null;
    finished_at: string | null;
    attempt: number;
    runner: string | null;
    lease_expires_at: string | null;
    /** sha256 of the current lease token; null unless running. */
    lease_token_hash: string | null;
    cancel_requested_at: string | null;
    deployment_id: string | null;
    error: string | null;
    author: string | null;
    message: string | null;
    log_seq: number;
    retry_number: number;
    retry_of: string | null;
  };
  build_logs: { build_id: string; seq: number; at: string; stream: string; text: string };
  webhook_deliveries: {
    seq: Generated<number>;
    provider: string;
    project_id: string;
    delivery_id: string;
    /** JSON of a DeliveryPush; null only on rows recorded before the queue existed. */
    push: string | null;
    state: string;
    received_at: string;
    processed_at: string | null;
    /** JSON list of build ids. */
    builds: string;
    error: string | null;
  };
  /** The job queue (store/kysely/jobs.ts): payload is JSON text; `key` is unique among queued jobs. */
  jobs: {
    id: Generated<number>;
    kind: string;
    key: string | null;
    payload: string;
    state: string;
    run_at: string;
    attempts: number;
    max_attempts: number;
    locked_by: string | null;
    locked_until: string | null;
    last_error: string | null;
    created_at: string;
    updated_at: string;
    done_at: string | null;
  };
  /** Every check report as it arrived; append-only. */
  check_reports: {
    seq: Generated<number>;
    project_id: string;
    commit_sha: string;
    name: string;
    state: string;
    url: string | null;
    description: string | null;
    /** `api`, `runner`, `github`, `gitlab`. */
    source: string;
    /** `<provider>:<delivery id>` of the webhook delivery it came from; unique per project and name. */
    delivery: string | null;
    reported_at: string;
    reported_by: string;
  };
  /** The current state of each check: the report with the highest seq (report_seq). */
  checks: {
    project_id: string;
    commit_sha: string;
    name: string;
    state: string;
    url: string | null;
    description: string | null;
    source: string;
    reported_at: string;
    reported_by: string;
    report_seq: number;
  };
  /** The commit graph Slipway knows: from runners' reports and pushes to its own repositories. */
  commits: {
    project_id: string;
    sha: string;
    /** Space-separated; empty for a root commit. */
    parents: string;
    author_name: string;
    author_email: string;
    /** The subject line, control characters removed. */
    message: string;
    committed_at: string;
    recorded_at: string;
  };
  /** Where a project's release state changes are POSTed (migration 014); url and secret sealed. */
  notify_targets: {
    id: string;
    project_id: string;
    url: string;
    url_origin: string;
    format: string;
    /** JSON array of events. */
    events: string;
    secret: string;
    allow_private: number;
    created_at: string;
    created_by: string;
    removed_at: string | null;
    removed_by: string | null;
  };
  /** One event for one target, with what became of it. */
  notify_deliveries: {
    id: string;
    target_id: string;
    project_id: string;
    event: string;
    release_id: string | null;
    body: string;
    state: Generated<string>;
    attempts: Generated<number>;
    status_code: number | null;
    error: string | null;
    response_excerpt: string | null;
    created_at: string;
    last_attempt_at: string | null;
    next_attempt_at: string | null;
    ended_at: string | null;
  };
  /** Spans in which nothing goes live in an environment but an admin's forced release; [from_at, until_at). */
  freezes: {
    id: string;
    project_id: string;
    environment_id: string;
    from_at: string;
    until_at: string;
    reason: string;
    created_by: string;
    created_at: string;
  };
  /** A person's decision on one release: approve (for themselves, or for an author with no user) or reject. */
  approvals: {
    id: string;
    project_id: string;
    release_id: string;
    user_id: string;
    user_name: string;
    role: string;
    /** '' for one's own decision; the author email signed for otherwise. */
    for_email: string;
    decision: string;
    reason: string | null;
    created_at: string;
  };
  /** A snapshot of all config vars of an environment (017); vars_sealed is sealed JSON (store/kysely/config.ts). */
  config_versions: {
    environment_id: string;
    version: number;
    vars_sealed: string;
    created_at: string;
    created_by: string;
  };
  /** One-time tokens that enroll an agent into one environment (016); only the sha256 is kept. */
  agent_enrollments: {
    id: string;
    project_id: string;
    environment_id: string;
    token_hash: string;
    created_by: string;
    created_at: string;
    expires_at: string;
    used_at: string | null;
    agent_id: string | null;
  };
  /** A host agent: what the server wants of it (run, prepare, release_phase; rev) and what it reported. */
  agents: {
    id: string;
    project_id: string;
    environment_id: string;
    name: string;
    address: string;
    port: number;
    version: string;
    token_id: string;
    state: Generated<string>;
    current_release_id: string | null;
    current_deployment_id: string | null;
    /** JSON array of deployment ids. */
    prepared: Generated<string>;
    healthy: Generated<number>;
    pid: number | null;
    error: string | null;
    rotation: Generated<string>;
    draining_since: string | null;
    rev: Generated<number>;
    /** JSON of AgentRun, AgentPrepare, AgentReleasePhase; null: none. */
    run: string | null;
    prepare: string | null;
    release_phase: string | null;
    last_seen_at: string;
    lost_at: string | null;
    enrolled_at: string;
    retired_at: string | null;
  };
  /** A release rolling out onto its environment's agents (services/rollouts.ts). */
  rollouts: {
    id: string;
    release_id: string;
    project_id: string;
    environment_id: string;
    deployment_id: string;
    previous_deployment_id: string | null;
    previous_release_id: string | null;
    state: string;
    /** "1" or "25%". */
    max_unavailable: string;
    drain_ms: number;
    health_timeout_ms: number;
    release_phase_agent_id: string | null;
    release_phase_state: string | null;
    release_phase_exit_code: number | null;
    release_phase_log: string | null;
    reason: string | null;
    started_at: string;
    updated_at: string;
    ended_at: string | null;
    /** JSON array of RolloutStep. */
    steps: Generated<string>;
  };
  slipway_migrations: { version: number; name: string; applied_at: string };
  secret_key_checks: { id: string; value: string; created_at: string };
  slipway_upgrades: { name: string };
}
