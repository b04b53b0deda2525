import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { buildSettings, formatConfigError, parseSlipwayConfig, slipwayConfigJsonSchemaText } from './slipway-config.ts';
import type { ConfigResult, SlipwayConfig } from './slipway-config.ts';

function errorsOf(result: ConfigResult): string[] {
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.errors.map((e) => formatConfigError(e));
}

function configOf(result: ConfigResult): SlipwayConfig {
  if (!result.ok) assert.fail(result.errors.map((e) => formatConfigError(e)).join('\n'));
  return result.config;
}

describe('parseSlipwayConfig', () => {
  test("accepts the product brief's example", () => {
    const config = configOf(
      parseSlipwayConfig(`build:
  command: npm ci && npm run build
  output: dist                 # what becomes the artifact
serve:                         # static site served by the edge …
  spa: true
service:                       # … or a service run by agents
  start: node server.js
  port: 8080                   # agent passes PORT
  health: /healthz
release: npm run migrate       # once per release, before any instance switches
environments:
  dev:        { follows: main, auto: true }
  staging:    { from: dev, auto: true, checks: [ci/test], mode: gate }
  production:
    from: staging
    checks: [ci/test, e2e]
    approvals: { count: 1, roles: [release-manager] }   # or authors: all
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
});
