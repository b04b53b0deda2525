import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeMissingEnvironment, describeRetiredDomain } from './missing-environment.ts';

describe('describeMissingEnvironment', () => {
  it('says a retired environment was retired, and when', () => {
    const text = describeMissingEnvironment('shop', 'preview-feature', { kind: 'retired', at: '2026-05-01T12:34:56.789Z' });
    assert.match(text, /preview-feature/);
    assert.match(text, /retired on 2026-05-01 12:34:56 UTC/);
  });

  it('tells a missing project, a missing environment and an empty one apart', () => {
    assert.match(describeMissingEnvironment('shop', 'x', { kind: 'no-project' }), /no project "shop"/);
    assert.match(describeMissingEnvironment('shop', 'x', { kind: 'no-environment' }), /no environment "x"/);
    assert.match(describeMissingEnvironment('shop', 'x', { kind: 'no-deployment' }), /no deployment yet/);
  });

  it('says a custom domain of a retired environment serves nothing', () => {
    assert.match(describeRetiredDomain('www.example.com', 'preview-a', '2026-05-01T12:00:00.000Z'), /www\.example\.com .*"preview-a".*retired on 2026-05-01 12:00:00 UTC/);
  });
});
