import { z } from 'zod';
import { Release } from './api.ts';

/**
 * Config vars of an environment. Values go in (PATCH) and out to the environment's agents
 * only; what people read is keys, who set each when, and a fingerprint of each value.
 */

/** One config var as people see it: never its value. */
export const ConfigVarInfo = z.object({
  key: z.string(),
  /**
   * `hmac-sha256:<12 hex>` of the value, keyed by the server's secret key: the same value has
   * the same fingerprint in every environment and project of this server, so two can be
   * compared, but a list of guesses cannot be checked against it offline.
   */
  fingerprint: z.string(),
  /** Bytes of the value (UTF-8). */
  size: z.number(),
  /** The config version whose change set this value, and who made it when. */
  version: z.number(),
  setAt: z.string(),
  setBy: z.string(),
});
export type ConfigVarInfo = z.infer<typeof ConfigVarInfo>;

export const ConfigList = z.object({
  project: z.string(),
  environment: z.string(),
  /** The latest config version (0: the environment never had config vars). */
  version: z.number(),
  createdAt: z.string().nullable(),
  createdBy: z.string().nullable(),
  vars: z.array(ConfigVarInfo),
  /** The live release and the config version it runs with (null: none) — older than `version` after a rollback, or while a config release waits. */
  live: z.object({ release: z.string(), number: z.number(), configVersion: z.number().nullable() }).nullable(),
});
export type ConfigList = z.infer<typeof ConfigList>;

/** Keys: letters, digits and `_`, not starting with a digit; not `PORT`, not `SLIPWAY_*`. Values: at most 32 KiB each. */
export const ChangeConfigRequest = z.object({
  set: z.record(z.string(), z.string()).optional(),
  unset: z.array(z.string()).max(1000).optional(),
});
export type ChangeConfigRequest = z.infer<typeof ChangeConfigRequest>;

export const ChangedConfig = ConfigList.extend({
  /** False when the change set what was there already: no new version, no release. */
  changed: z.boolean(),
  set: z.array(z.string()),
  unset: z.array(z.string()),
  /** The `config` release it made (a service environment with a live release); null otherwise. */
  release: Release.nullable(),
});
export type ChangedConfig = z.infer<typeof ChangedConfig>;

/** What an agent starts its release's instance with (GET /api/v1/agent/releases/:release/config). */
export const AgentReleaseConfig = z.object({
  /** The release's config version; null: it runs with none. */
  version: z.number().nullable(),
  vars: z.record(z.string(), z.string()),
});
export type AgentReleaseConfig = z.infer<typeof AgentReleaseConfig>;
