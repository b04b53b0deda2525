import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { CheckState } from '../../core/glossary.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { PushTrigger, RefUpdate } from '../services/pushes.ts';
import type { Verdict } from './signatures.ts';

/** One delivery as it arrived: headers and the raw body, before anything trusts it. */
export interface RawDelivery {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What a verified delivery asks for. */
export type WebhookEvent =
  | { kind: 'ping'; zen: string | undefined; hookId: number | undefined }
  | { kind: 'push'; updates: RefUpdate[]; author: string | undefined; message: string | undefined }
  | { kind: 'check'; check: WebhookCheck }
  | { kind: 'ignored'; event: string; reason?: string };

/** A check state a git host reports (a GitHub status or check run, a GitLab pipeline), already mapped to Slipway's states. */
export interface WebhookCheck {
  commit: string;
  name: string;
  state: CheckState;
  url: string | null;
  description: string | null;
}

/** One git host's dialect: how it signs, names its repository, and describes a push. */
export interface WebhookProvider {
  name: 'github' | 'gitlab' | 'generic';
  actor: Actor;
  trigger: PushTrigger;
  /** Checks the delivery's credentials against a project's secret, on the raw body. */
  verify(secret: string, delivery: RawDelivery, now: Date): Verdict;
  /** Repository URLs an unverified payload names, only to find its project when `?project=` is absent. */
  repositoryUrls(payload: unknown): string[];
  /** The idempotency key of the delivery, when it has one. */
  deliveryId(delivery: RawDelivery, payload: unknown): string | undefined;
  /** Reads a verified payload; throws INVALID_REQUEST when it is not what the event header says. */
  interpret(delivery: RawDelivery, payload: unknown): WebhookEvent;
}

/** The first value of a header, or undefined when absent or empty. */
export function headerOf(delivery: RawDelivery, name: string): string | undefined {
  const value = delivery.headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/**
 * The JSON a body carries: the body itself, or GitHub's form encoding (`payload=<json>`).
 * Throws INVALID_REQUEST for anything else.
 */
export function decodePayload(delivery: RawDelivery): unknown {
  const type = (headerOf(delivery, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  let text = delivery.body.toString('utf8');
  if (type === 'application/x-www-form-urlencoded') {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new SlipwayError(ErrorCode.INVALID_REQUEST, 'a form-encoded delivery needs a "payload" field');
    text = payload;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, `the body is not JSON: ${(err as Error).message}`);
  }
}

/** The non-empty strings among `values`, once each. */
export function presentStrings(values: (string | null | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
}
