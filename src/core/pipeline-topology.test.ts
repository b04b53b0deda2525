import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCycle, findCycles, orderEnvironments, type EnvironmentLink } from './pipeline-topology.ts';

/** `production<staging` means production comes from staging; a bare name has no `from:`. */
function links(...specs: string[]): EnvironmentLink[] {
  return specs.map((spec) => {
    const [name = '', from] = spec.split('<');
    return { name, from: from ?? null };
  });
}

const orderRows: { name: string; envs: EnvironmentLink[]; expect: string[] }[] = [
  { name: 'nothing', envs: [], expect: [] },
  { name: 'a chain, upstream first, whatever the input order', envs: links('production<staging', 'dev', 'staging<dev'), expect: ['dev', 'staging', 'production'] },
  {
    name: 'siblings by name, each with its own downstream before the next sibling',
    envs: links('prod-us<staging', 'prod-eu<staging', 'staging<dev', 'dev', 'canary-eu<prod-eu'),
    expect: ['dev', 'staging', 'prod-eu', 'canary-eu', 'prod-us'],
  },
  {
    name: 'two pipelines one after the other, by the name of their first environment',
    envs: links('b-prod<b-dev', 'a-prod<a-dev', 'b-dev', 'a-dev'),
    expect: ['a-dev', 'a-prod', 'b-dev', 'b-prod'],
  },
  { name: 'environments in no pipeline come last, by name', envs: links('zeta', 'alpha', 'staging<dev', 'dev'), expect: ['dev', 'staging', 'alpha', 'zeta'] },
  { name: 'a from naming a missing environment counts as none', envs: links('production<stagin', 'dev'), expect: ['dev', 'production'] },
  { name: 'undefined from is none', envs: [{ name: 'b', from: undefined }, { name: 'a', from: undefined }], expect: ['a', 'b'] },
  { name: 'a cycle comes at the end, every name once', envs: links('a<b', 'b<a', 'dev', 'staging<dev', 'c<a'), expect: ['dev', 'staging', 'a', 'b', 'c'] },
  { name: 'an environment from itself comes at the end', envs: links('self<self', 'dev'), expect: ['dev', 'self'] },
];

for (const row of orderRows) {
  test(`orderEnvironments: ${row.name}`, () => {
    assert.deepEqual(orderEnvironments(row.envs), row.expect);
  });
}

const cycleRows: { name: string; envs: EnvironmentLink[]; expect: string[][] }[] = [
  { name: 'a chain has none', envs: links('production<staging', 'staging<dev', 'dev'), expect: [] },
  { name: 'a tree has none', envs: links('a<root', 'b<root', 'c<a', 'root'), expect: [] },
  { name: 'a missing upstream is no cycle', envs: links('a<ghost'), expect: [] },
  { name: 'from itself', envs: links('dev<dev'), expect: [['dev', 'dev']] },
  { name: 'two environments, in the direction releases flow', envs: links('staging<production', 'production<staging'), expect: [['production', 'staging', 'production']] },
  {
    name: 'three, starting from the first name, with a tail leading into it left out',
    envs: links('c<b', 'b<a', 'a<c', 'tail<a', 'dev'),
    expect: [['a', 'b', 'c', 'a']],
  },
  { name: 'several cycles, each once', envs: links('y<x', 'x<y', 'b<a', 'a<b', 'self<self'), expect: [['a', 'b', 'a'], ['self', 'self'], ['x', 'y', 'x']] },
];

for (const row of cycleRows) {
  test(`findCycle: ${row.name}`, () => {
    assert.deepEqual(findCycles(row.envs), row.expect);
    assert.deepEqual(findCycle(row.envs), row.expect[0] ?? null);
  });
}
