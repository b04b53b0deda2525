import assert from 'node:assert/strict';
import { ApiError } from '../../src/protocol/client.ts';

/** Asserts that an API call fails with the given stable code (and status, when given). */
export async function rejectsWithCode(promise: Promise<unknown>, code: string, status?: number): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    if (status !== undefined) assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected the call to fail with ${code}`);
}
