import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesIfNoneMatch, matchesIfRange } from './conditional.ts';

const etag = '"abc"';

describe('matchesIfNoneMatch', () => {
  it('matches the tag, a list holding it, a weak form of it and *', () => {
    assert.equal(matchesIfNoneMatch('"abc"', etag), true);
    assert.equal(matchesIfNoneMatch('"x", "abc"', etag), true);
    assert.equal(matchesIfNoneMatch('W/"abc"', etag), true);
    assert.equal(matchesIfNoneMatch(' * ', etag), true);
  });

  it('does not match other tags', () => {
    assert.equal(matchesIfNoneMatch('"abcd"', etag), false);
    assert.equal(matchesIfNoneMatch('abc', etag), false);
    assert.equal(matchesIfNoneMatch('"x", W/"y"', etag), false);
  });
});

describe('matchesIfRange', () => {
  it('lets a range apply without If-Range or with the same strong tag only', () => {
    assert.equal(matchesIfRange(undefined, etag), true);
    assert.equal(matchesIfRange('"abc"', etag), true);
    assert.equal(matchesIfRange('W/"abc"', etag), false);
    assert.equal(matchesIfRange('Wed, 21 Oct 2015 07:28:00 GMT', etag), false);
  });
});
