import { z } from 'zod';
import { CHECK_STATES } from '../core/glossary.ts';
import { toOneLine } from '../core/one-line.ts';

/**
 * Wire schemas of checks (a named state of a commit, from CI, a git host or Slipway's own
 * test step) and of the commits Slipway knows. Whatever is reported here ends up on pages and
 * in terminals, so every free-text field is bounded and names are printable.
 */

export const CheckState = z.enum(CHECK_STATES);
export type CheckState = z.infer<typeof CheckState>;

export const CheckSource = z.enum(['api', 'runner', 'github', 'gitlab']);
export type CheckSource = z.infer<typeof CheckSource>;

/** A full commit id, or an abbreviation of at least 7 hex digits (resolved against what the project knows). */
export const CommitRef = z
  .string()
  .regex(/^[0-9a-fA-F]{7,64}$/, 'a commit id: 40 hex digits, or an abbreviation of at least 7')
  .transform((s) => s.toLowerCase());

/** `ci/test`, `build (linux)`: printable, no control or format characters, no surrounding spaces. */
export const CheckName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^\p{C}\s](?:[^\p{C}]*[^\p{C}\s])?$/u, 'printable characters without leading or trailing spaces');

/** Where a check's details are: http(s) only, so a link on a page never runs script. */
export const CheckUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    if (!/^https?:\/\//i.test(value)) return false;
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'an http(s) URL');

/** Shown on one line wherever checks are listed: escapes and control characters are dropped. */
export const CheckDescription = z
  .string()
  .max(1000)
  .transform((text) => toOneLine(text, 1000));

export const ReportCheckRequest = z.object({
  commit: CommitRef,
  name: CheckName,
  state: CheckState,
  url: CheckUrl.nullish(),
  description: CheckDescription.nullish(),
});
export type ReportCheckRequest = z.infer<typeof ReportCheckRequest>;

export const Check = z.object({
  commit: z.string(),
  name: z.string(),
  state: CheckState,
  url: z.string().nullable(),
  description: z.string().nullable(),
  source: CheckSource,
  reportedAt: z.string(),
  reportedBy: z.string(),
});
export type Check = z.infer<typeof Check>;

export const CheckReport = Check.extend({ seq: z.number() });
export type CheckReport = z.infer<typeof CheckReport>;

/** `POST …/checks`: the check as it is now (a later report may have won) and the report recorded. */
export const ReportedCheck = z.object({ check: Check, report: CheckReport.nullable() });
export type ReportedCheck = z.infer<typeof ReportedCheck>;

export const CommitChecks = z.object({ commit: z.string(), checks: z.array(Check) });
export type CommitChecks = z.infer<typeof CommitChecks>;

export const CheckHistoryQuery = z.object({
  name: CheckName.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().min(1).optional(),
});
export type CheckHistoryQuery = z.infer<typeof CheckHistoryQuery>;

export const CheckHistory = z.object({ commit: z.string(), reports: z.array(CheckReport) });
export type CheckHistory = z.infer<typeof CheckHistory>;

export const Commit = z.object({
  sha: z.string(),
  parents: z.array(z.string()),
  authorName: z.string(),
  authorEmail: z.string(),
  message: z.string(),
  committedAt: z.string(),
  recordedAt: z.string(),
});
export type Commit = z.infer<typeof Commit>;

/** Runner (Slipway-Lease): the state of Slipway's own test step of the build (`slipway/test`). */
export const RunnerCheckRequest = z.object({
  runner: z.string().max(200),
  name: z.literal('slipway/test'),
  state: CheckState,
  description: CheckDescription.nullish(),
});
export type RunnerCheckRequest = z.infer<typeof RunnerCheckRequest>;
