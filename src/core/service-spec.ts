import { parseDuration } from './duration.ts';
import type { SlipwayConfig } from './slipway-config.ts';

/**
 * What an agent needs to run a deployment as a service, carried in the deployment's meta
 * (`meta.service`): the `service:`, `release:` and `hooks:` of the slipway.yaml it was built
 * or deployed with. A deployment without it is a static site.
 */
export interface ServiceSpec {
  /** Shell command (`sh -c`) that starts one instance, in its release directory, with PORT set. */
  start: string;
  /** The port an instance listens on when its agent has no --port. */
  port?: number | undefined;
  /** Path GET on the instance: healthy on 2xx/3xx. */
  health?: string | undefined;
  /** SIGTERM, then SIGKILL after this long. */
  stop_timeout_ms?: number | undefined;
  /** The release phase (migrations): run once per release, before any instance switches. */
  release?: string | undefined;
  hooks?: ServiceHooks | undefined;
}

export const HOOK_NAMES = ['before_install', 'after_install', 'before_switch', 'after_switch'] as const;
export type HookName = (typeof HOOK_NAMES)[number];
export type ServiceHooks = Partial<Record<HookName, string>>;

export const DEFAULT_SERVICE_PORT = 8080;
export const DEFAULT_HEALTH_PATH = '/';
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** The service a checked slipway.yaml declares; undefined for a static site. */
export function serviceSpecOf(config: SlipwayConfig): ServiceSpec | undefined {
  const service = config.service;
  if (service === undefined) return undefined;
  const spec: ServiceSpec = { start: service.start };
  if (service.port !== undefined) spec.port = service.port;
  if (service.health !== undefined) spec.health = service.health;
  if (service.stop_timeout !== undefined) spec.stop_timeout_ms = parseDuration(service.stop_timeout);
  if (config.release !== undefined) spec.release = config.release;
  const hooks = Object.fromEntries(Object.entries(config.hooks ?? {}).filter(([, command]) => command !== undefined));
  if (Object.keys(hooks).length > 0) spec.hooks = hooks;
  return spec;
}
