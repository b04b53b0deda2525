import type { z } from 'zod';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';

/** Parses input with a protocol schema; failures name each bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  throw new SlipwayError(ErrorCode.INVALID_REQUEST, `invalid request: ${summary}`, { issues });
}
