import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Node as YamlNode, Pair } from 'yaml';
import { z } from 'zod';
import { parseWindow } from './deploy-windows.ts';
import { parseDuration } from './duration.ts';
import { DEFAULT_APPROVALS, DEFAULT_MAX_COMMITS, DEFAULT_ROLLOUT, LADDER_ROLES, type EnvironmentPolicy, type RolloutPolicy } from './gates/types.ts';
import { ENVIRONMENT_MODES } from './glossary.ts';
import { isValidName } from './names.ts';
import { findCycles } from './pipeline-topology.ts';

/**
 * `slipway.yaml`: what a repository says about its build, how it is served or run, and its
 * environments. Pure: text in, a typed config or errors that each name a field path and the
 * line:column it sits at.
 */

export const SLIPWAY_CONFIG_FILE = 'slipway.yaml';

/** Used when the repository has no `slipway.yaml`, and for builds that do not set it. */
export const DEFAULT_BUILD_TIMEOUT = '15m';

/** More approvals than people in a team is a mistake. */
export const MAX_APPROVALS = 50;

const DURATION_PATTERN = '^(\\d+[smhd])+$';

/** `90s`, `10m`, `2h`, `1d`, `1h30m`; checked with the same parser the rest of Slipway uses. */
const Duration = z
  .string()
  .superRefine((value, ctx) => {
    try {
      parseDuration(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  })
  .meta({ pattern: DURATION_PATTERN, examples: ['90s', '10m', '1h30m'] });

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const EnvName = z
  .string()
  .regex(ENV_NAME, { error: (issue) => `invalid variable name "${String(issue.input)}": use letters, digits and _` })
  .refine((name) => !name.startsWith('SLIPWAY_') && name !== 'CI', {
    error: (issue) => `${String(issue.input)} is set by Slipway and cannot be overridden`,
  });

/** YAML writes `PORT: 8080` as a number; the process sees a string either way. */
const EnvValue = z.union([z.string(), z.number(), z.boolean()]).transform((value) => String(value));

const environmentNameError = (issue: { input?: unknown }): string =>
  `invalid environment name "${String(issue.input)}": use 1-40 lowercase letters, digits and single dashes`;

/** Same rule as core/names.ts; the pattern also lands in the JSON Schema. */
const EnvironmentName = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, { error: environmentNameError })
  .refine((name) => isValidName(name) && !name.startsWith('dpl-'), { error: environmentNameError });

/** Same rule as core/names.ts: project names are DNS labels without `--`. */
const ProjectName = z.string().refine(isValidName, {
  error: (issue) => `invalid project name "${String(issue.input)}": use 1-40 lowercase letters, digits and single dashes`,
});

export const BuildConfig = z
  .strictObject({
    command: z.string().min(1).optional().describe('Shell command run with `sh -c` in a fresh checkout of the commit.'),
    output: z
      .string()
      .min(1)
      .optional()
      .describe("Directory that becomes the artifact, relative to the repository root. Default: 'dist' when command is set, '.' otherwise."),
    env: z.record(EnvName, EnvValue).optional().describe('Extra environment variables of the build command.'),
    timeout: Duration.optional().describe(`Kill the build command after this long. Default: ${DEFAULT_BUILD_TIMEOUT}.`),
    network: z
      .boolean()
      .optional()
      .describe('false runs the build command without network access (only its own loopback). Default: true, for dependency installs.'),
  })
  .describe('How a commit becomes an artifact.');
export type BuildConfig = z.infer<typeof BuildConfig>;

export const ServeConfig = z
  .strictObject({ spa: z.boolean().optional().describe('Serve index.html for paths that match no file.') })
  .describe('The artifact is a static site served by the edge.');

/** A path the agent asks its instance for: `/healthz`, `/up?deep=1`. */
const HealthPath = z
  .string()
  .max(200)
  .regex(/^\/[\x21-\x7e]*$/, { error: (issue) => `invalid health path "${String(issue.input)}": start with / and use printable characters without spaces` });

export const ServiceConfig = z
  .strictObject({
    start: z.string().min(1).describe('Shell command (`sh -c`) that starts one instance, run in its release directory with PORT and the config vars set.'),
    port: z.number().int().min(1).max(65535).optional().describe("Port an instance listens on when its agent has no --port. Default: 8080."),
    health: HealthPath.optional().describe('Path the agent GETs on the instance: healthy on a 2xx or 3xx answer. Default: /.'),
    stop_timeout: Duration.optional().describe('How long an instance gets after SIGTERM before SIGKILL. Default: 10s.'),
  })
  .describe('The artifact is a service: agents on your hosts run it (`slipway agent`).');
export type ServiceConfig = z.infer<typeof ServiceConfig>;

const HookCommand = z.string().min(1);
export const HooksConfig = z
  .strictObject({
    before_install: HookCommand.optional().describe('Run before a release directory is laid out (in the agent directory).'),
    after_install: HookCommand.optional().describe('Run in the new release directory once its files are verified.'),
    before_switch: HookCommand.optional().describe('Run in the new release directory after the old instance stopped, before `current` moves.'),
    after_switch: HookCommand.optional().describe('Run in the new release directory once the new instance is healthy.'),
  })
  .describe('Shell commands an agent runs around installing and switching a release; a failing hook fails the switch.');

/** `max_unavailable: 2` or `"25%"`. */
const MaxUnavailable = z.union([
  z.number().int().min(1),
  z.string().regex(/^(100|[1-9][0-9]?)%$/, { error: (issue) => `invalid max_unavailable "${String(issue.input)}": a number of instances, or a percentage from 1% to 100%` }),
]);

export const RolloutConfig = z
  .strictObject({
    max_unavailable: MaxUnavailable.optional().describe('Instances switching at once: a count or a percentage of them (at least one). Default: 1.'),
    drain: Duration.optional().describe('How long an instance out of rotation gets to finish its requests before it switches. Default: 10s.'),
    health_timeout: Duration.optional().describe('How long a switched instance has to pass its health check before the rollout goes back. Default: 60s.'),
    prepare_timeout: Duration.optional().describe('How long the agents have to lay the release out before the rollout fails (nobody switched). Default: 10m.'),
    release_timeout: Duration.optional().describe('How long the release phase (release:) may run before the rollout fails (nobody switched). Default: 30m.'),
  })
  .describe("How a service's instances switch to a release, batch by batch.");

export const EnvironmentConfig = z
  .strictObject({
    follows: z.string().min(1).optional().describe('Branch whose successful builds this environment moves to.'),
    auto: z
      .boolean()
      .optional()
      .describe('Take each candidate that passes the gates without a person. Default: true with follows, false otherwise; needs follows or from.'),
    from: EnvironmentName.optional().describe('Upstream environment a deployment must have been live in (and not rolled back from) before it enters this one.'),
    checks: z.array(z.string().min(1)).optional().describe("Checks that must be green on the deployment's commit (e.g. ci/test, slipway/test)."),
    mode: z
      .enum(ENVIRONMENT_MODES)
      .optional()
      .describe('gate (default): wait until every check is green. parallel: go live at once and roll back if a check turns red.'),
    max_commits: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(`Automation waits for a person when a release brings more commits than this. Default: ${DEFAULT_MAX_COMMITS}.`),
    requires: z
      .array(ProjectName)
      .optional()
      .describe("Projects whose same environment must first run what ran with this deployment upstream (infra before app). Needs from."),
    approvals: z
      .strictObject({
        count: z.number().int().min(1).max(MAX_APPROVALS).optional().describe('Different people who must approve; authors of the batch and who promoted it do not count.'),
        roles: z
          .array(z.enum(LADDER_ROLES))
          .min(1)
          .optional()
          .describe('Who counts: an effective role on the project of at least the lowest listed. Default: [approver].'),
        authors: z
          .literal('all')
          .optional()
          .describe('all: every author of a commit in the batch approves; an approver signs for authors with no user.'),
      })
      .optional()
      .describe('Who must sign off a release before it goes live: count and roles, authors: all, or both.'),
    soak: Duration.optional(),
    windows: z
      .array(z.string().min(1))
      .optional()
      .describe('Deploy windows, e.g. "Mon-Thu 09:00-16:00 Europe/Berlin" (days, local time range, IANA time zone): releases go live only inside one.'),
    expedite: z
      .enum(['allow', 'hold'])
      .optional()
      .describe('allow: hotfixes (builds of hotfix/* branches) go live outside the deploy windows. hold (default): windows hold them too. Freezes hold them either way.'),
    rollout: RolloutConfig.optional(),
  })
  .describe('Policy of one environment.');
export type EnvironmentConfig = z.infer<typeof EnvironmentConfig>;

export const SlipwayConfig = z
  .strictObject({
    build: BuildConfig.optional(),
    serve: ServeConfig.optional(),
    service: ServiceConfig.optional(),
    test: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Shell command run with `sh -c` after a successful build, in the same checkout and sandbox (limited by build.timeout); its exit status is reported as the check slipway/test.',
      ),
    release: z
      .string()
      .min(1)
      .optional()
      .describe('Release phase of a service (migrations): run once per release by one agent, after every instance has the release on disk and before any switches.'),
    hooks: HooksConfig.optional(),
    environments: z.record(EnvironmentName, EnvironmentConfig).optional(),
    previews: z.strictObject({ branches: z.boolean() }).optional().describe('A preview environment per branch.'),
  })
  .superRefine((config, ctx) => {
    if (config.serve !== undefined && config.service !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['service'], message: 'serve and service cannot both be set: a deployment is a static site or a service' });
    }
    if (config.service === undefined) {
      if (config.release !== undefined) ctx.addIssue({ code: 'custom', path: ['release'], message: 'release needs service: it runs before the instances of a service switch' });
      if (config.hooks !== undefined) ctx.addIssue({ code: 'custom', path: ['hooks'], message: 'hooks need service: agents run them around the instances of a service' });
    }
    for (const { path, message } of pipelineErrors(config.environments ?? {})) ctx.addIssue({ code: 'custom', path, message });
  })
  .meta({ title: 'slipway.yaml', description: 'Configuration of a Slipway project, at the root of its repository.' });
export type SlipwayConfig = z.infer<typeof SlipwayConfig>;

/**
 * What no single field can say wrong: `from:` links that name a missing environment, the
 * environment itself or form a cycle, `requires:` without `from:` or naming a project twice,
 * and `auto` with nothing to take releases from. Each is placed at the field to change.
 */
function pipelineErrors(environments: Record<string, EnvironmentConfig>): { path: (string | number)[]; message: string }[] {
  const errors: { path: (string | number)[]; message: string }[] = [];
  const names = Object.keys(environments);
  for (const [name, env] of Object.entries(environments)) {
    const at = (...rest: (string | number)[]): (string | number)[] => ['environments', name, ...rest];
    if (env.from === name) errors.push({ path: at('from'), message: `${name} cannot come from itself` });
    else if (env.from !== undefined && !Object.hasOwn(environments, env.from)) {
      errors.push({ path: at('from'), message: `no environment "${env.from}" in this file${suggest(env.from, names)}` });
    }
    if (env.soak !== undefined && env.from === undefined) {
      errors.push({ path: at('soak'), message: 'soak needs from: it is how long a deployment must have been live there' });
    }
    if (env.approvals !== undefined && env.approvals.count === undefined && env.approvals.authors === undefined) {
      errors.push({ path: at('approvals'), message: 'approvals needs count (a number of people) or authors: all' });
    }
    if (env.requires !== undefined && env.requires.length > 0 && env.from === undefined) {
      errors.push({ path: at('requires'), message: 'requires needs from: a required project must first run what ran upstream with this deployment' });
    }
    const required = new Set<string>();
    for (const [index, project] of (env.requires ?? []).entries()) {
      if (required.has(project)) errors.push({ path: at('requires', index), message: `"${project}" is already required` });
      required.add(project);
    }
    for (const [index, text] of (env.windows ?? []).entries()) {
      const parsed = parseWindow(text);
      if (!parsed.ok) errors.push({ path: at('windows', index), message: parsed.error });
    }
    if (env.auto === true && env.follows === undefined && env.from === undefined) {
      errors.push({ path: at('auto'), message: 'auto needs follows (a branch) or from (an environment) to take releases from' });
    }
  }
  const links = Object.entries(environments).map(([name, env]) => ({ name, from: env.from === name ? null : env.from }));
  for (const cycle of findCycles(links)) {
    errors.push({ path: ['environments', cycle[0] as string, 'from'], message: `from forms a cycle: ${cycle.join(' → ')}` });
  }
  return errors;
}

/**
 * An environment's policy as `slipway.yaml` declares it, defaults filled in. `follows:`
 * alone keeps meaning what it always has: automation moves the environment to the branch's
 * builds, unless `auto: false`.
 */
export function policyFromConfig(env: EnvironmentConfig): EnvironmentPolicy {
  return {
    follows: env.follows ?? null,
    from: env.from ?? null,
    auto: env.auto ?? env.follows !== undefined,
    checks: [...new Set(env.checks ?? [])],
    mode: env.mode ?? 'gate',
    maxCommits: env.max_commits ?? DEFAULT_MAX_COMMITS,
    requires: [...new Set(env.requires ?? [])],
    windows: [...new Set(env.windows ?? [])],
    expedite: env.expedite ?? 'hold',
    soakMs: env.soak === undefined ? 0 : parseDuration(env.soak),
    approvals:
      env.approvals === undefined
        ? DEFAULT_APPROVALS
        : { count: env.approvals.count ?? 0, roles: [...new Set(env.approvals.roles ?? DEFAULT_APPROVALS.roles)], authors: env.approvals.authors ?? null },
    rollout: {
      maxUnavailable: (env.rollout?.max_unavailable ?? DEFAULT_ROLLOUT.maxUnavailable) as RolloutPolicy['maxUnavailable'],
      drainMs: env.rollout?.drain === undefined ? DEFAULT_ROLLOUT.drainMs : parseDuration(env.rollout.drain),
      healthTimeoutMs: env.rollout?.health_timeout === undefined ? DEFAULT_ROLLOUT.healthTimeoutMs : parseDuration(env.rollout.health_timeout),
      prepareTimeoutMs: env.rollout?.prepare_timeout === undefined ? DEFAULT_ROLLOUT.prepareTimeoutMs : parseDuration(env.rollout.prepare_timeout),
      releaseTimeoutMs: env.rollout?.release_timeout === undefined ? DEFAULT_ROLLOUT.releaseTimeoutMs : parseDuration(env.rollout.release_timeout),
    },
  };
}

/** The JSON Schema of `slipway.yaml`, generated from the schema above (editors validate with it). */
export function slipwayConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(SlipwayConfig, { io: 'input', target: 'draft-2020-12' });
}

/** The text of `schema/slipway.schema.json`, as `scripts/build-schema.ts` writes it. */
export function slipwayConfigJsonSchemaText(): string {
  return `${JSON.stringify(slipwayConfigJsonSchema(), null, 2)}\n`;
}

/** What the runner does with a build, defaults applied. */
export interface BuildSettings {
  command: string | undefined;
  output: string;
  env: Record<string, string>;
  /** Undefined when `slipway.yaml` does not set one: the server's default applies. */
  timeoutMs: number | undefined;
  /** `build.network`; true unless slipway.yaml turns it off. */
  network: boolean;
}

export function buildSettings(config: SlipwayConfig): BuildSettings {
  const build = config.build ?? {};
  return {
    command: build.command,
    output: build.output ?? (build.command === undefined ? '.' : 'dist'),
    env: build.env ?? {},
    timeoutMs: build.timeout === undefined ? undefined : parseDuration(build.timeout),
    network: build.network ?? true,
  };
}

export interface ConfigError {
  /** 1-based. */
  line: number;
  col: number;
  /** Dotted field path (`build.timeout`, `environments.dev.follows`); empty for the document. */
  path: string;
  message: string;
}

export type ConfigResult = { ok: true; config: SlipwayConfig } | { ok: false; errors: ConfigError[] };

/** `slipway.yaml:4:12 build.timeout: invalid duration "soon"`. */
export function formatConfigError(error: ConfigError, file = SLIPWAY_CONFIG_FILE): string {
  return `${file}:${error.line}:${error.col} ${error.path ? `${error.path}: ` : ''}${error.message}`;
}

/**
 * Parses and validates `slipway.yaml`. An empty file is an empty config. YAML syntax errors and
 * schema errors both come back positioned; nothing throws for bad input.
 */
export function parseSlipwayConfig(text: string): ConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): { line: number; col: number } => lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));

  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((err) => ({ ...at(err.pos[0]), path: '', message: err.message.split('\n')[0] ?? err.message })) };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err) {
    return { ok: false, errors: [{ line: 1, col: 1, path: '', message: err instanceof Error ? err.message : String(err) }] };
  }
  if (data === null || data === undefined) data = {};

  const parsed = SlipwayConfig.safeParse(data);
  if (parsed.success) return { ok: true, config: parsed.data };

  const errors: ConfigError[] = [];
  const rootNode = (doc.contents ?? undefined) as YamlNode | undefined;
  for (const issue of parsed.error.issues) {
    const path = issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const found = locate(rootNode, [...path, key], 'key');
        errors.push({ ...at(found.offset), path: dotted([...path, key]), message: `unknown field "${key}"${suggest(key, knownKeys(path))}` });
      }
      continue;
    }
    const found = locate(rootNode, path, issue.code === 'invalid_key' ? 'key' : 'value');
    errors.push({ ...at(found.offset), path: dotted(path), message: describeIssue(issue, valueAt(data, path), found.missing) });
  }
  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  return { ok: false, errors };
}

/**
 * A positioned error for a field of `slipway.yaml` found wrong by what only the server knows
 * (a `requires:` naming no project). Undefined when the text does not parse or lacks the field.
 */
export function locateConfigPath(text: string, path: readonly (string | number)[], message = ''): ConfigError | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return undefined;
  const found = locate(doc.contents ?? undefined, path, 'value');
  if (found.missing) return undefined;
  return { ...lineCounter.linePos(Math.max(0, Math.min(found.offset, text.length))), path: dotted(path), message };
}

function dotted(path: readonly (string | number)[]): string {
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join('');
}

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue, value: unknown, missing: boolean): string {
  switch (issue.code) {
    case 'invalid_type':
      if (missing || value === undefined) return `is required (${article(issue.expected)})`;
      return `expected ${article(issue.expected)}, got ${kindOf(value)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}`;
    case 'invalid_union':
      return `has an invalid value ${JSON.stringify(value)}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'number') return `must be ${issue.inclusive ? 'at least' : 'more than'} ${String(issue.minimum)}, got ${JSON.stringify(value)}`;
      return issue.message;
    case 'too_big':
      if (issue.origin === 'number') return `must be ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}, got ${JSON.stringify(value)}`;
      return issue.message;
    case 'invalid_key': {
      const inner = issue.issues[0];
      return inner ? inner.message : issue.message;
    }
    default:
      return issue.message;
  }
}

function article(type: string): string {
  const word = type === 'object' ? 'mapping' : type === 'array' ? 'list' : type === 'int' ? 'whole number' : type;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/**
 * Finds where a field path sits in the YAML: the value node (or, for `key`, the key of the
 * last segment). A field that is missing points at the nearest mapping that should hold it.
 */
function locate(root: YamlNode | undefined, path: readonly (string | number)[], want: 'key' | 'value'): { offset: number; missing: boolean } {
  let node: YamlNode | undefined = root;
  let offset = root?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i += 1) {
    const segment = path[i];
    let next: { pair?: Pair; node: YamlNode | undefined } | undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyString(item.key) === String(segment));
      if (pair) next = { pair, node: (pair.value ?? undefined) as YamlNode | undefined };
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as YamlNode | undefined;
      if (item) next = { node: item };
    }
    if (!next) return { offset, missing: true };
    const keyNode = next.pair?.key as YamlNode | undefined;
    if (i === path.length - 1 && want === 'key' && keyNode?.range) return { offset: keyNode.range[0], missing: false };
    // `timeout:` with nothing after it has no value node: point at its key.
    offset = next.node?.range?.[0] ?? keyNode?.range?.[0] ?? offset;
    node = next.node;
  }
  return { offset, missing: false };
}

function keyString(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function knownKeys(path: readonly (string | number)[]): string[] {
  const shapes: Record<string, string[]> = {
    '': Object.keys(SlipwayConfig.shape),
    build: Object.keys(BuildConfig.shape),
    serve: Object.keys(ServeConfig.shape),
    service: Object.keys(ServiceConfig.shape),
    hooks: Object.keys(HooksConfig.shape),
    previews: ['branches'],
  };
  if (path.length === 2 && path[0] === 'environments') return Object.keys(EnvironmentConfig.shape);
  if (path.length === 3 && path[0] === 'environments' && path[2] === 'rollout') return Object.keys(RolloutConfig.shape);
  return shapes[path.join('.')] ?? [];
}

/** ` (did you mean "build"?)` for a key one or two edits away from a known one. */
function suggest(key: string, known: readonly string[]): string {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best ? ` (did you mean "${best.name}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
