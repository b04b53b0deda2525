import type { ServiceDeps } from '../services/deps.ts';

/** What route modules close over. */
export interface HttpContext {
  deps: ServiceDeps;
}

export type Params = Record<string, string>;
