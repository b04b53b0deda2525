import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';

/**
 * Every package in package-lock.json installs on the oldest Node Slipway supports, so
 * `npm install` prints no EBADENGINE warning there (cookie@2 once did, pulled in by fastify's
 * light-my-request). A small range reader stands in for `semver`, which is not a dependency.
 */

type Version = [number, number, number];
type Comparator = { op: '>=' | '>' | '<=' | '<' | '='; version: Version };

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** `20`, `20.19`, `20.x`, `20.19.0` → the parts given (`x` and `*` end them). */
function parts(text: string): number[] {
  const found: number[] = [];
  for (const part of text.replace(/^v/, '').split('.')) {
    if (part === 'x' || part === 'X' || part === '*') break;
    if (!/^\d+$/.test(part)) throw new Error(`cannot read version "${text}"`);
    found.push(Number(part));
  }
  if (found.length > 3) throw new Error(`cannot read version "${text}"`);
  return found;
}

function floor(p: readonly number[]): Version {
  return [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0];
}

/** The first version past a partial one: `20` → 21.0.0, `20.19` → 20.20.0. */
function ceiling(p: readonly number[]): Version {
  if (p.length === 0) return [Infinity, 0, 0];
  if (p.length === 1) return [(p[0] ?? 0) + 1, 0, 0];
  return [p[0] ?? 0, (p[1] ?? 0) + 1, 0];
}

function comparators(token: string): Comparator[] {
  const match = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(token);
  const op = match?.[1] ?? '';
  const p = parts(match?.[2] ?? '');
  switch (op) {
    case '>=':
      return [{ op: '>=', version: floor(p) }];
    case '>':
      return p.length === 3 ? [{ op: '>', version: floor(p) }] : [{ op: '>=', version: ceiling(p) }];
    case '<':
      return [{ op: '<', version: floor(p) }];
    case '<=':
      return p.length === 3 ? [{ op: '<=', version: floor(p) }] : [{ op: '<', version: ceiling(p) }];
    case '~':
      return [{ op: '>=', version: floor(p) }, { op: '<', version: ceiling(p.slice(0, Math.max(1, Math.min(2, p.length)))) }];
    case '^': {
      // The leftmost non-zero part may not change.
      const lead = p.findIndex((n, i) => n !== 0 || i === p.length - 1);
      return [{ op: '>=', version: floor(p) }, { op: '<', version: ceiling(p.slice(0, Math.max(lead, 0) + 1)) }];
    }
    default:
      if (p.length === 3) return [{ op: '=', version: floor(p) }];
      return [{ op: '>=', version: floor(p) }, { op: '<', version: ceiling(p) }];
  }
}

function holds(c: Comparator, v: Version): boolean {
  const d = compare(v, c.version);
  return c.op === '>=' ? d >= 0 : c.op === '>' ? d > 0 : c.op === '<=' ? d <= 0 : c.op === '<' ? d < 0 : d === 0;
}

/** Whether `version` satisfies an npm range like `^18.18.0 || ^20.9.0 || >=21.1.0` or `>= 10.x`. */
function satisfies(version: string, range: string): boolean {
  const v = floor(parts(version));
  return range.split('||').some((alternative) => {
    const text = alternative.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1');
    if (text === '' || text === '*') return true;
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
    const tokens = hyphen ? [`>=${hyphen[1] ?? ''}`, `<=${hyphen[2] ?? ''}`] : text.split(/\s+/);
    return tokens.flatMap(comparators).every((c) => holds(c, v));
  });
}

describe('engines', () => {
  test('the range reader reads the ranges npm writes', () => {
    const cases: [string, string, boolean][] = [
      ['20.19.0', '>=22', false],
      ['20.19.0', '>=18', true],
      ['20.19.0', '>= 10.x', true],
      ['20.19.0', '^18.18.0 || ^20.9.0 || >=21.1.0', true],
      ['20.19.0', '^22.20 || ^24.12 || >=25', false],
      ['20.19.0', '20 || >=22', true],
      ['21.0.0', '20 || >=22', false],
      ['20.19.0', '>=20.19 <23', true],
      ['23.0.0', '>=20.19 <23', false],
      ['20.18.9', '>=20.19 <23', false],
      ['20.19.0', '20.x || 22.x', true],
      ['20.19.0', '^20.19.0 || ^22.13.0 || >=24', true],
      ['20.19.0', '^0.10', false],
      ['0.10.5', '^0.10', true],
      ['20.19.0', '~20.18', false],
      ['20.19.0', '18 - 20', true],
      ['20.19.0', '*', true],
      ['20.19.0', '<=20', true],
      ['20.19.0', '>20', false],
    ];
    for (const [version, range, expected] of cases) assert.equal(satisfies(version, range), expected, `${version} in ${range}`);
    assert.throws(() => satisfies('20.19.0', 'lts/iron'));
  });

  test('every package in package-lock.json supports the oldest Node Slipway supports', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    const oldest = /^>=\s*(\d+(?:\.\d+){0,2})/.exec(manifest.engines.node)?.[1];
    assert.ok(oldest, `package.json engines.node "${manifest.engines.node}" names a lowest version`);
    const lock = JSON.parse(await readFile(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, { version?: string; optional?: boolean; engines?: unknown }>;
    };
    const excluding: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const node = typeof entry.engines === 'object' && entry.engines !== null ? (entry.engines as { node?: unknown }).node : undefined;
      if (typeof node !== 'string') continue;
      // An optional package whose engines do not fit is skipped by npm, not installed with a warning.
      if (entry.optional === true) continue;
      if (!satisfies(oldest, node)) excluding.push(`${path || 'slipway'}@${entry.version ?? '?'} needs node ${node}`);
    }
    assert.deepEqual(excluding, [], `these exclude Node ${oldest}: pin or replace them (package.json overrides)`);
  });
});
