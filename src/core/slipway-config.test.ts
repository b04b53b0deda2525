import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { buildSettings, formatConfigError, locateConfigPath, parseSlipwayConfig, policyFromConfig, slipwayConfigJsonSchemaText } from './slipway-config.ts';
import type { ConfigResult, SlipwayConfig } from './slipway-config.ts';
import { batchSize, DEFAULT_ROLLOUT } from './gates/types.ts';
import { serviceSpecOf } from './service-spec.ts';

function errorsOf(result: ConfigResult): string[] {
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.errors.map((e) => formatConfigError(e));
}

function configOf(result: ConfigResult): SlipwayConfig {
  if (!result.ok) assert.fail(result.errors.map((e) => formatConfigError(e)).join('\n'));
  return result.config;
}

describe('parseSlipwayConfig', () => {
  test("accepts the product brief's example (serve: or service:, which it shows as alternatives)", () => {
    const config = configOf(
      parseSlipwayConfig(`build:
  command: npm ci && npm run build
  output: dist                 # what becomes the artifact
serve:                         # static site served by the edge …
  spa: true
environments:
  dev:        { follows: main, auto: true }
  staging:    { from: dev, auto: true, checks: [ci/test], mode: gate }
  production:
    from: staging
    checks: [ci/test, e2e]
    approvals: { count: 1, roles: [approver] }   # or authors: all
    soak: 10m
    windows: ["Mon-Thu 09:00-16:00 Europe/Berlin"]
    rollout: { max_unavailable: 1 }
previews: { branches: true }
`),
    );
    assert.equal(config.build?.command, 'npm ci && npm run build');
    assert.equal(config.serve?.spa, true);
    assert.deepEqual(config.environments?.dev, { follows: 'main', auto: true });
    assert.equal(config.environments?.production?.soak, '10m');
    assert.deepEqual(config.previews, { branches: true });
  });

  test('an empty file, or one with only comments, is the default config', () => {
    for (const text of ['', '\n', '# nothing yet\n']) {
      const config = configOf(parseSlipwayConfig(text));
      assert.deepEqual(buildSettings(config), { command: undefined, output: '.', env: {}, timeoutMs: undefined, network: true });
    }
  });

  test('output defaults to dist with a command; env values become strings; timeout parses', () => {
    const config = configOf(parseSlipwayConfig('build:\n  command: make\n  env: { PORT: 8080, DEBUG: true, NAME: x }\n  timeout: 1h30m\n'));
    assert.deepEqual(buildSettings(config), {
      command: 'make',
      output: 'dist',
      env: { PORT: '8080', DEBUG: 'true', NAME: 'x' },
      timeoutMs: 90 * 60_000,
      network: true,
    });
  });

  test('build.network: false turns the network off; anything but a boolean is refused', () => {
    assert.equal(buildSettings(configOf(parseSlipwayConfig('build:\n  command: make\n  network: false\n'))).network, false);
    assert.equal(buildSettings(configOf(parseSlipwayConfig('build:\n  network: true\n'))).network, true);
    assert.match(errorsOf(parseSlipwayConfig('build:\n  network: "off"\n'))[0] ?? '', /^slipway\.yaml:2:\d+ build\.network: /);
  });

  test('a bad duration names the field and the line:column of its value', () => {
    const errors = errorsOf(parseSlipwayConfig('build:\n  command: npm run build\n  output: dist\n  timeout: soon\n'));
    assert.deepEqual(errors, ['slipway.yaml:4:12 build.timeout: invalid duration "soon": use forms like 90s, 10m, 2h, 1d']);
  });

  test('a zero duration is rejected too', () => {
    assert.match(errorsOf(parseSlipwayConfig('build:\n  timeout: 0m\n'))[0] ?? '', /^slipway\.yaml:2:12 build\.timeout: duration "0m" must be longer than zero/);
  });

  test('unknown fields point at their key and suggest the near one', () => {
    assert.deepEqual(errorsOf(parseSlipwayConfig('biuld:\n  command: x\n')), ['slipway.yaml:1:1 biuld: unknown field "biuld" (did you mean "build"?)']);
    assert.deepEqual(errorsOf(parseSlipwayConfig('environments:\n  dev: { follow: main }\n')), [
      'slipway.yaml:2:10 environments.dev.follow: unknown field "follow" (did you mean "follows"?)',
    ]);
    assert.deepEqual(errorsOf(parseSlipwayConfig('build:\n  comand: x\n  zzz: 1\n')), [
      'slipway.yaml:2:3 build.comand: unknown field "comand" (did you mean "command"?)',
      'slipway.yaml:3:3 build.zzz: unknown field "zzz"',
    ]);
  });

  test('every error of a document is reported, in line order, each with its path', () => {
    const errors = errorsOf(
      parseSlipwayConfig(`build:
  command: 12
  env:
    PORT: 8080
    SLIPWAY_COMMIT: x
    "bad name": 1
environments:
  dev: { follows: main, auto: yes }
  Prod: { from: dev }
  staging: { from: dev, mode: fast }
previews: {}
`),
    );
    assert.deepEqual(errors, [
      'slipway.yaml:2:12 build.command: expected a string, got 12',
      'slipway.yaml:5:5 build.env.SLIPWAY_COMMIT: SLIPWAY_COMMIT is set by Slipway and cannot be overridden',
      'slipway.yaml:6:5 build.env.bad name: invalid variable name "bad name": use letters, digits and _',
      'slipway.yaml:8:31 environments.dev.auto: expected a boolean, got "yes"',
      'slipway.yaml:9:3 environments.Prod: invalid environment name "Prod": use 1-40 lowercase letters, digits and single dashes',
      'slipway.yaml:10:31 environments.staging.mode: expected one of "gate", "parallel", got "fast"',
      'slipway.yaml:11:11 previews.branches: is required (a boolean)',
    ]);
  });

  test('list items are addressed by index', () => {
    assert.deepEqual(errorsOf(parseSlipwayConfig('environments:\n  prod:\n    checks:\n      - ok\n      - 3\n')), [
      'slipway.yaml:5:9 environments.prod.checks[1]: expected a string, got 3',
    ]);
  });

  test('a field with no value points at its key', () => {
    assert.deepEqual(errorsOf(parseSlipwayConfig('build:\n  timeout:\n')), ['slipway.yaml:2:11 build.timeout: expected a string, got null']);
  });

  test('a document that is not a mapping', () => {
    assert.deepEqual(errorsOf(parseSlipwayConfig('- a\n- b\n')), ['slipway.yaml:1:1 expected a mapping, got a list']);
    assert.deepEqual(errorsOf(parseSlipwayConfig('build: npm run build\n')), ['slipway.yaml:1:8 build: expected a mapping, got "npm run build"']);
  });

  test('YAML syntax errors carry their line:column', () => {
    assert.deepEqual(errorsOf(parseSlipwayConfig('build: [1, 2')), [
      'slipway.yaml:1:13 Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    assert.deepEqual(errorsOf(parseSlipwayConfig('build:\n  command: a\nbuild:\n  command: b\n')), ['slipway.yaml:3:1 Map keys must be unique']);
    const tab = errorsOf(parseSlipwayConfig('build:\n\tcommand: x\n'));
    assert.match(tab[0] ?? '', /^slipway\.yaml:2:1 /);
  });

  test('alias bombs are refused, not expanded', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i += 1) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    const errors = errorsOf(parseSlipwayConfig(`${lines.join('\n')}\n`));
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /^slipway\.yaml:1:1 /);
  });
});

describe('pipelines in slipway.yaml', () => {
  const pipeline = `test: npm test
environments:
  dev: { follows: main }
  staging:
    from: dev
    auto: true
    checks: [ci/test, slipway/test]
  production:
    from: staging
    checks: [ci/test, e2e]
    mode: parallel
    max_commits: 3
    requires: [infra, dns]
`;

  test('test, max_commits and requires parse; policyFromConfig fills in the defaults', () => {
    const config = configOf(parseSlipwayConfig(pipeline));
    assert.equal(config.test, 'npm test');
    const envs = config.environments ?? {};
    assert.deepEqual(
      Object.fromEntries(Object.entries(envs).map(([name, env]) => [name, policyFromConfig(env)])),
      {
        dev: { follows: 'main', from: null, auto: true, checks: [], mode: 'gate', maxCommits: 8, requires: [], soakMs: 0, windows: [], expedite: 'hold', approvals: { count: 0, roles: ['approver'], authors: null }, rollout: DEFAULT_ROLLOUT },
        staging: { follows: null, from: 'dev', auto: true, checks: ['ci/test', 'slipway/test'], mode: 'gate', maxCommits: 8, requires: [], soakMs: 0, windows: [], expedite: 'hold', approvals: { count: 0, roles: ['approver'], authors: null }, rollout: DEFAULT_ROLLOUT },
        production: { follows: null, from: 'staging', auto: false, checks: ['ci/test', 'e2e'], mode: 'parallel', maxCommits: 3, requires: ['infra', 'dns'], soakMs: 0, windows: [], expedite: 'hold', approvals: { count: 0, roles: ['approver'], authors: null }, rollout: DEFAULT_ROLLOUT },
      },
    );
  });

  test('follows with auto: false stops automation; an empty environment gets the default policy', () => {
    const config = configOf(parseSlipwayConfig('environments:\n  dev: { follows: main, auto: false }\n  manual: {}\n'));
    assert.equal(policyFromConfig(config.environments?.dev ?? {}).auto, false);
    assert.deepEqual(policyFromConfig(config.environments?.manual ?? {}), {
      follows: null,
      from: null,
      auto: false,
      checks: [],
      mode: 'gate',
      maxCommits: 8,
      requires: [],
      windows: [],
      expedite: 'hold',
      soakMs: 0,
      approvals: { count: 0, roles: ['approver'], authors: null },
      rollout: DEFAULT_ROLLOUT,
    });
  });

  test('approvals: count and roles, authors: all, or both; roles default to approver', () => {
    const config = configOf(
      parseSlipwayConfig(
        'environments:\n  a: { approvals: { count: 2 } }\n  b: { approvals: { authors: all } }\n  c: { approvals: { count: 1, roles: [admin, deployer, deployer], authors: all } }\n',
      ),
    );
    const envs = config.environments ?? {};
    assert.deepEqual(policyFromConfig(envs.a ?? {}).approvals, { count: 2, roles: ['approver'], authors: null });
    assert.deepEqual(policyFromConfig(envs.b ?? {}).approvals, { count: 0, roles: ['approver'], authors: 'all' });
    assert.deepEqual(policyFromConfig(envs.c ?? {}).approvals, { count: 1, roles: ['admin', 'deployer'], authors: 'all' });
  });

  const fieldRows: { name: string; yaml: string; expect: string[] }[] = [
    { name: 'expedite other than allow or hold', yaml: 'environments:\n  p: { expedite: always }\n', expect: ['slipway.yaml:2:18 environments.p.expedite: expected one of "allow", "hold", got "always"'] },
    { name: 'max_commits of 0', yaml: 'environments:\n  p: { max_commits: 0 }\n', expect: ['slipway.yaml:2:21 environments.p.max_commits: must be at least 1, got 0'] },
    {
      name: 'max_commits that is not a whole number',
      yaml: 'environments:\n  p:\n    max_commits: 2.5\n',
      expect: ['slipway.yaml:3:18 environments.p.max_commits: expected a whole number, got 2.5'],
    },
    {
      name: 'max_commits as text',
      yaml: 'environments:\n  p:\n    max_commits: "8"\n',
      expect: ['slipway.yaml:3:18 environments.p.max_commits: expected a number, got "8"'],
    },
    {
      name: 'requires with an invalid project name',
      yaml: 'environments:\n  dev: {}\n  p:\n    from: dev\n    requires: [infra, Infra, a--b]\n',
      expect: [
        'slipway.yaml:5:23 environments.p.requires[1]: invalid project name "Infra": use 1-40 lowercase letters, digits and single dashes',
        'slipway.yaml:5:30 environments.p.requires[2]: invalid project name "a--b": use 1-40 lowercase letters, digits and single dashes',
      ],
    },
    { name: 'a port out of range', yaml: 'service:\n  start: node s.js\n  port: 70000\n', expect: ['slipway.yaml:3:9 service.port: must be at most 65535, got 70000'] },
    { name: 'requires that is not a list', yaml: 'environments:\n  p: { requires: infra }\n', expect: ['slipway.yaml:2:18 environments.p.requires: expected a list, got "infra"'] },
    {
      name: 'windows with a bad day, an unknown time zone, an end before the start',
      yaml: 'environments:\n  p:\n    windows:\n      - "Mon-Thu 09:00-16:00 Europe/Berlin"\n      - "Mo 09:00-12:00 UTC"\n      - "Fri 09:00-12:00 Mars/Olympus"\n      - "Fri 12:00-09:00 UTC"\n',
      expect: [
        'slipway.yaml:5:9 environments.p.windows[1]: "Mo" is not a day or a range of days (Mon, Tue, … Sun; e.g. Mon-Thu)',
        'slipway.yaml:6:9 environments.p.windows[2]: "Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)',
        'slipway.yaml:7:9 environments.p.windows[3]: "Fri 12:00-09:00 UTC": the window must end after it starts on the same day (split one across midnight in two)',
      ],
    },
    {
      name: 'approvals naming a role that is not on the ladder',
      yaml: 'environments:\n  p:\n    approvals: { count: 1, roles: [approver, release-manager] }\n',
      expect: ['slipway.yaml:3:46 environments.p.approvals.roles[1]: expected one of "viewer", "deployer", "approver", "admin", got "release-manager"'],
    },
    {
      name: 'approvals with authors other than all, a count of 0, an unknown key',
      yaml: 'environments:\n  p:\n    approvals:\n      authors: some\n      count: 0\n      who: me\n',
      expect: [
        'slipway.yaml:4:16 environments.p.approvals.authors: expected one of "all", got "some"',
        'slipway.yaml:5:14 environments.p.approvals.count: must be at least 1, got 0',
        'slipway.yaml:6:7 environments.p.approvals.who: unknown field "who"',
      ],
    },
    { name: 'test as a mapping', yaml: 'test:\n  command: npm test\n', expect: ['slipway.yaml:2:3 test: expected a string, got a mapping'] },
    { name: 'an empty test', yaml: 'test: ""\n', expect: ['slipway.yaml:1:7 test: must not be empty'] },
  ];

  for (const row of fieldRows) {
    test(`refused: ${row.name}`, () => {
      assert.deepEqual(errorsOf(parseSlipwayConfig(row.yaml)), row.expect);
    });
  }

  const crossRows: { name: string; yaml: string; expect: string[] }[] = [
    {
      name: 'a cycle in from, named in the order releases flow, at the from of its first environment',
      yaml: `environments:
  dev: { follows: main }
  staging:
    from: production
  production:
    from: staging
`,
      expect: ['slipway.yaml:6:11 environments.production.from: from forms a cycle: production → staging → production'],
    },
    {
      name: 'a longer cycle with a chain hanging off it: only the cycle is named',
      yaml: 'environments:\n  a: { from: c }\n  b: { from: a }\n  c: { from: b }\n  d: { from: a }\n',
      expect: ['slipway.yaml:2:14 environments.a.from: from forms a cycle: a → b → c → a'],
    },
    {
      name: 'from naming an environment not in the file, with the near name',
      yaml: 'environments:\n  staging: {}\n  production:\n    from: stagin\n',
      expect: ['slipway.yaml:4:11 environments.production.from: no environment "stagin" in this file (did you mean "staging"?)'],
    },
    {
      name: 'from naming a property every object has is still no environment',
      yaml: 'environments:\n  production: { from: constructor }\n',
      expect: ['slipway.yaml:2:23 environments.production.from: no environment "constructor" in this file'],
    },
    {
      name: 'from naming itself (reported once, not also as a cycle)',
      yaml: 'environments:\n  dev: { from: dev }\n',
      expect: ['slipway.yaml:2:16 environments.dev.from: dev cannot come from itself'],
    },
    {
      name: 'requires without from',
      yaml: 'environments:\n  production:\n    requires: [infra]\n',
      expect: ['slipway.yaml:3:15 environments.production.requires: requires needs from: a required project must first run what ran upstream with this deployment'],
    },
    {
      name: 'soak without from',
      yaml: 'environments:\n  production:\n    soak: 10m\n',
      expect: ['slipway.yaml:3:11 environments.production.soak: soak needs from: it is how long a deployment must have been live there'],
    },
    {
      name: 'approvals with neither count nor authors',
      yaml: 'environments:\n  production:\n    approvals: { roles: [admin] }\n',
      expect: ['slipway.yaml:3:16 environments.production.approvals: approvals needs count (a number of people) or authors: all'],
    },
    {
      name: 'requires naming a project twice, at the second one',
      yaml: 'environments:\n  staging: {}\n  production:\n    from: staging\n    requires:\n      - infra\n      - dns\n      - infra\n',
      expect: ['slipway.yaml:8:9 environments.production.requires[2]: "infra" is already required'],
    },
    {
      name: 'auto with nothing to take releases from',
      yaml: 'environments:\n  production: { auto: true }\n',
      expect: ['slipway.yaml:2:23 environments.production.auto: auto needs follows (a branch) or from (an environment) to take releases from'],
    },
    {
      name: 'every cross-field error of the file at once, in line order',
      yaml: `environments:
  a: { from: b }
  b: { from: a }
  c: { from: nowhere, requires: [x, x] }
  d: { requires: [y] }
`,
      expect: [
        'slipway.yaml:2:14 environments.a.from: from forms a cycle: a → b → a',
        'slipway.yaml:4:14 environments.c.from: no environment "nowhere" in this file',
        'slipway.yaml:4:37 environments.c.requires[1]: "x" is already required',
        'slipway.yaml:5:18 environments.d.requires: requires needs from: a required project must first run what ran upstream with this deployment',
      ],
    },
  ];

  for (const row of crossRows) {
    test(`refused: ${row.name}`, () => {
      assert.deepEqual(errorsOf(parseSlipwayConfig(row.yaml)), row.expect);
    });
  }

  test('cross-field checks wait until every field is valid on its own', () => {
    assert.deepEqual(errorsOf(parseSlipwayConfig('environments:\n  a: { from: b, mode: fast }\n  b: { from: a }\n')), [
      'slipway.yaml:2:23 environments.a.mode: expected one of "gate", "parallel", got "fast"',
    ]);
  });

  test('locateConfigPath places what the server finds wrong at its yaml line', () => {
    assert.deepEqual(locateConfigPath(pipeline, ['environments', 'production', 'requires', 1], 'no project "dns"'), {
      line: 13,
      col: 23,
      path: 'environments.production.requires[1]',
      message: 'no project "dns"',
    });
    assert.equal(formatConfigError(locateConfigPath(pipeline, ['test']) ?? assert.fail('test not found')), 'slipway.yaml:1:7 test: ');
    assert.equal(locateConfigPath(pipeline, ['environments', 'qa']), undefined);
    assert.equal(locateConfigPath('build: [1, 2', ['build']), undefined);
  });
});

describe('services in slipway.yaml', () => {
  test("the brief's service example becomes the spec agents run, with its release phase and hooks", () => {
    const config = configOf(
      parseSlipwayConfig(`service:                       # a service run by agents
  start: node server.js
  port: 8080                   # agent passes PORT
  health: /healthz
  stop_timeout: 20s
release: npm run migrate       # once per release, before any instance switches
hooks:
  after_install: npm ci --omit=dev
  after_switch: ./notify.sh
environments:
  production:
    rollout: { max_unavailable: "50%", drain: 5s, health_timeout: 2m, release_timeout: 1h }
`),
    );
    assert.deepEqual(serviceSpecOf(config), {
      start: 'node server.js',
      port: 8080,
      health: '/healthz',
      stop_timeout_ms: 20_000,
      release: 'npm run migrate',
      hooks: { after_install: 'npm ci --omit=dev', after_switch: './notify.sh' },
    });
    assert.deepEqual(policyFromConfig(config.environments?.production ?? {}).rollout, {
      maxUnavailable: '50%',
      drainMs: 5_000,
      healthTimeoutMs: 120_000,
      prepareTimeoutMs: 600_000,
      releaseTimeoutMs: 3_600_000,
    });
    assert.equal(serviceSpecOf(configOf(parseSlipwayConfig('serve: { spa: true }\n'))), undefined);
  });

  test('serve and service exclude each other; release and hooks need a service', () => {
    assert.deepEqual(errorsOf(parseSlipwayConfig('serve: { spa: true }\nservice: { start: node s.js }\n')), [
      'slipway.yaml:2:10 service: serve and service cannot both be set: a deployment is a static site or a service',
    ]);
    assert.deepEqual(errorsOf(parseSlipwayConfig('release: npm run migrate\nhooks: { after_switch: x }\n')), [
      'slipway.yaml:1:10 release: release needs service: it runs before the instances of a service switch',
      'slipway.yaml:2:8 hooks: hooks need service: agents run them around the instances of a service',
    ]);
  });

  test('a service needs start; fields are checked and unknown ones named', () => {
    const errors = errorsOf(parseSlipwayConfig('service:\n  port: 70000\n  health: healthz\n  stat: x\nhooks: { after_swtich: y }\n'));
    assert.ok(errors.some((e) => e.includes('service.start')), errors.join('\n'));
    assert.ok(errors.some((e) => e.includes('service.port')), errors.join('\n'));
    assert.ok(errors.some((e) => e.includes('invalid health path "healthz"')), errors.join('\n'));
    assert.ok(errors.some((e) => e.includes('unknown field "stat" (did you mean "start"?)')), errors.join('\n'));
    assert.ok(errors.some((e) => e.includes('unknown field "after_swtich" (did you mean "after_switch"?)')), errors.join('\n'));
  });

  test('rollout: max_unavailable is a count or a percentage; durations are checked; unknown fields named', () => {
    for (const bad of ['0', '"0%"', '"150%"', '"half"', '-1']) {
      const errors = errorsOf(parseSlipwayConfig(`environments:\n  prod:\n    rollout: { max_unavailable: ${bad} }\n`));
      assert.ok(errors.some((e) => e.includes('environments.prod.rollout.max_unavailable')), `${bad}: ${errors.join('\n')}`);
    }
    assert.ok(errorsOf(parseSlipwayConfig('environments:\n  prod:\n    rollout: { drain: soon }\n'))[0]?.includes('rollout.drain'));
    assert.ok(errorsOf(parseSlipwayConfig('environments:\n  prod:\n    rollout: { max_unavailabel: 2 }\n'))[0]?.includes('did you mean "max_unavailable"'));
  });

  test('batchSize: a count or a share of the instances, at least one, at most all', () => {
    assert.equal(batchSize(1, 3), 1);
    assert.equal(batchSize(5, 3), 3);
    assert.equal(batchSize('50%', 4), 2);
    assert.equal(batchSize('25%', 3), 1);
    assert.equal(batchSize('100%', 3), 3);
    assert.equal(batchSize(2, 0), 1);
  });
});

describe('schema/slipway.schema.json', () => {
  test('is what scripts/build-schema.ts generates from the zod schema (run it after changing the schema)', async () => {
    const committed = await readFile(new URL('../../schema/slipway.schema.json', import.meta.url), 'utf8');
    assert.equal(committed, slipwayConfigJsonSchemaText());
  });

  test('describes the fields with their constraints', () => {
    const schema = JSON.parse(slipwayConfigJsonSchemaText()) as {
      additionalProperties: boolean;
      properties: { build: { properties: { timeout: { pattern: string } } } };
    };
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.properties.build.properties.timeout.pattern, '^(\\d+[smhd])+$');
  });

  test('describes test, max_commits and requires', () => {
    type Field = { type?: string; minimum?: number; items?: { type: string } };
    const schema = JSON.parse(slipwayConfigJsonSchemaText()) as {
      properties: { test: Field; environments: { additionalProperties: { properties: Record<string, Field> } } };
    };
    assert.equal(schema.properties.test.type, 'string');
    const env = schema.properties.environments.additionalProperties.properties;
    assert.equal(env.max_commits?.type, 'integer');
    assert.equal(env.max_commits?.minimum, 1);
    assert.equal(env.requires?.items?.type, 'string');
  });
});
