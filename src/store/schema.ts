import type { Generated } from 'kysely';

/** Table shapes as Kysely sees them (snake_case columns, JSON as text, times as ISO text). */
export interface Database {
  projects: { id: string; name: string; created_at: string; created_by: string };
  tokens: {
    id: string;
    name: string;
    role: string;
    hash: string;
    created_at: string;
    created_by: string;
    last_used_at: string | null;
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
    locked_at: string | null;
    locked_reason: string | null;
    locked_until: string | null;
    created_at: string;
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
  };
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
  slipway_migrations: { version: number; name: string; applied_at: string };
}
