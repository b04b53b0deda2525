import { DEFAULT_POLICY, NO_APPROVAL_FACTS, type Candidate, type EnvironmentPolicy, type GateCheck, type GateFacts } from './types.ts';

/**
 * Table rows for the gate tests: a plain candidate, policy and facts, each overridden by a row.
 * Kept next to the gates (not under test/) because unit tests sit next to their code.
 */

export const NOW = new Date('2026-03-01T12:00:00Z');
export const SHA = '3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39';

export function aCandidate(over: Partial<Candidate> = {}): Candidate {
  return {
    deploymentId: 'dpl-b',
    commit: SHA,
    branch: 'main',
    trigger: 'automation',
    forced: false,
    batch: { count: 1, truncated: false },
    ...over,
  };
}

export function aPolicy(over: Partial<EnvironmentPolicy> = {}): EnvironmentPolicy {
  return { ...DEFAULT_POLICY, checks: [], requires: [], windows: [], ...over };
}

export function someFacts(over: { environment?: Partial<GateFacts['environment']> } & Partial<Omit<GateFacts, 'environment'>> = {}): GateFacts {
  const { environment, ...rest } = over;
  return {
    environment: {
      name: 'production',
      deploymentId: 'dpl-a',
      pinnedBy: null,
      lockedBy: null,
      lockedReason: null,
      lockedAt: null,
      lockedUntil: null,
      ...environment,
    },
    upstream: null,
    checks: {},
    requires: [],
    queueAhead: null,
    freezes: [],
    approvals: NO_APPROVAL_FACTS,
    ...rest,
  };
}

export interface GateRow {
  name: string;
  candidate?: Partial<Candidate>;
  policy?: Partial<EnvironmentPolicy>;
  facts?: Parameters<typeof someFacts>[0];
  now?: Date;
  /** `pass`, or the status with the reason's code. */
  expect: 'pass' | `wait ${string}` | `fail ${string}`;
  message?: string;
  recheckAt?: string;
}

/** `pass`, `wait CODE` or `fail CODE`: one string a table row can state. */
export function summary(check: GateCheck): string {
  return check.status === 'pass' ? 'pass' : `${check.status} ${check.reason.code}`;
}

/** Runs a gate on a row's candidate, policy and facts. */
export function runRow(gate: (c: Candidate, p: EnvironmentPolicy, f: GateFacts, now: Date) => GateCheck, row: GateRow): GateCheck {
  return gate(aCandidate(row.candidate), aPolicy(row.policy), someFacts(row.facts), row.now ?? NOW);
}
