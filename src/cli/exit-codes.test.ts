import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../core/errors.ts';
import { ExitCode, exitCodeFor } from './exit-codes.ts';

describe('exitCodeFor', () => {
  test('maps each family of API codes', () => {
    assert.equal(exitCodeFor(ErrorCode.MANIFEST_PATH_TRAVERSAL), ExitCode.USAGE);
    assert.equal(exitCodeFor(ErrorCode.REASON_REQUIRED), ExitCode.USAGE);
    assert.equal(exitCodeFor(ErrorCode.DEPLOYMENT_NOT_FOUND), ExitCode.NOT_FOUND);
    assert.equal(exitCodeFor(ErrorCode.RELEASE_CONFLICT), ExitCode.CONFLICT);
    assert.equal(exitCodeFor(ErrorCode.ENVIRONMENT_LOCKED), ExitCode.BLOCKED);
    assert.equal(exitCodeFor(ErrorCode.FORBIDDEN), ExitCode.AUTH);
    assert.equal(exitCodeFor('NETWORK_ERROR'), ExitCode.UNREACHABLE);
    assert.equal(exitCodeFor(ErrorCode.INTERNAL), ExitCode.INTERNAL);
  });

  test('a code from a newer server falls back to its name, then its HTTP status', () => {
    assert.equal(exitCodeFor('AGENT_NOT_FOUND'), ExitCode.NOT_FOUND);
    assert.equal(exitCodeFor('INVALID_WINDOW'), ExitCode.USAGE);
    assert.equal(exitCodeFor('SOMETHING_NEW', 409), ExitCode.CONFLICT);
    assert.equal(exitCodeFor('SOMETHING_NEW', 423), ExitCode.BLOCKED);
    assert.equal(exitCodeFor('SOMETHING_NEW', 403), ExitCode.AUTH);
    assert.equal(exitCodeFor('SOMETHING_NEW', 502), ExitCode.INTERNAL);
  });
});
