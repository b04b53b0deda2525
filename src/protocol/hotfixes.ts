import { z } from 'zod';

export const StartHotfixRequest = z.object({
  /** What follows `hotfix/` in the branch (`login-fix`); absent: the day and production's short commit. */
  name: z.string().min(1).max(100).optional(),
  /** The environment whose commit the hotfix starts from; absent: production (see core/hotfix.ts). */
  environment: z.string().min(1).max(64).optional(),
});
export type StartHotfixRequest = z.infer<typeof StartHotfixRequest>;

/** A hotfix started: its branch at what production runs, and the git commands that take it from there. */
export const Hotfix = z.object({
  project: z.string(),
  branch: z.string(),
  /** The environment it starts from, what it runs, and that deployment's commit (the branch's start). */
  environment: z.string(),
  deployment: z.string(),
  release: z.number().nullable(),
  commit: z.string(),
  /**
   * `created`: Slipway made the branch in its own git repository. `commands`: the code lives in
   * an external repository (or Slipway's lacks the commit), so the branch is made by running `commands`.
   */
  mode: z.enum(['created', 'commands']),
  /** The repository to push the hotfix to (an external one is shown without credentials). */
  repository: z.string(),
  /** Exact git commands, in order, to run in a clone; `# …` lines say what to do in between. */
  commands: z.array(z.string()),
});
export type Hotfix = z.infer<typeof Hotfix>;
