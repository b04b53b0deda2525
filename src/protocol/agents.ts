import { z } from 'zod';
import { AGENT_STATES, ROLLOUT_STATES, ROTATIONS } from '../core/glossary.ts';
import { ManifestFile, ServiceSpec } from './api.ts';

/**
 * The agent protocol (what a host agent and the server say to each other) and the management
 * API of agents, instances and rollouts. Both ends import these schemas, so they agree by
 * construction; the agent keeps to this file and api.ts (no server code).
 *
 * Agent routes (bearer: the agent's credential, role `agent`, one project + environment):
 *   POST /api/v1/agent/enroll                      EnrollRequest → EnrollResponse (public: the body's token is the credential)
 *   GET  /api/v1/agent/assignment?after=&wait=     AssignmentQuery → Assignment (long-poll; every poll is a heartbeat)
 *   POST /api/v1/agent/report                      AgentReport → ReportResponse
 *   GET  /api/v1/agent/deployments/:deployment     → AgentDeployment
 *   GET  /api/v1/agent/blobs/:digest?deployment=   → the blob's bytes (application/octet-stream)
 */

export { ServiceSpec };

/** Ids as Slipway makes them (`dpl-…`, `rel-…`); anything else is refused at the door. */
const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z]{2,8}-[a-z0-9]{1,40}$/);
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Port = z.number().int().min(1).max(65535);

/** A host's name as its agent gives it: printable ASCII, no leading or trailing space. */
export const AgentName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, 'printable characters, no leading or trailing space');

/** Where the edge reaches an instance: a host name or an IP address (IPv6 without brackets). */
export const AgentAddress = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:%-]+$/, 'a host name or an IP address');

const AgentVersionText = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/);

export const EnrollRequest = z
  .object({
    /** The one-time enrollment token (`slipway agents enroll`). */
    token: z.string().min(1).max(200),
    name: AgentName,
    version: AgentVersionText,
    address: AgentAddress,
    port: Port,
  })
  .strict();
export type EnrollRequest = z.infer<typeof EnrollRequest>;

export const AgentRef = z.object({ id: z.string(), name: z.string() });
export type AgentRef = z.infer<typeof AgentRef>;

export const EnrollResponse = z.object({
  agent: AgentRef,
  project: z.string(),
  environment: z.string(),
  /** The agent's own bearer token; shown this once. */
  credential: z.string(),
});
export type EnrollResponse = z.infer<typeof EnrollResponse>;

export const AssignmentQuery = z.object({
  /** The rev the agent has seen; the answer waits while the agent's rev is not above it. */
  after: z.coerce.number().int().min(0).default(0),
  /** Seconds to wait for a change (0: answer at once). */
  wait: z.coerce.number().int().min(0).max(30).default(0),
});
export type AssignmentQuery = z.infer<typeof AssignmentQuery>;

/** What should be current and running. */
export const AgentRun = z.object({ releaseId: z.string(), releaseNumber: z.number().int(), deploymentId: z.string() });
export type AgentRun = z.infer<typeof AgentRun>;

/** Download and lay out, don't switch. */
export const AgentPrepare = z.object({ deploymentId: z.string() });
export type AgentPrepare = z.infer<typeof AgentPrepare>;

/** Run the release command (service.release) once in this deployment's directory, then report. */
export const AgentReleasePhase = z.object({ releaseId: z.string(), deploymentId: z.string(), command: z.string() });
export type AgentReleasePhase = z.infer<typeof AgentReleasePhase>;

/** The agent bundle the server wants agents to run (GET /agent/slipway-agent.json describes it). */
export const AgentVersion = z.object({ version: z.string(), sha256: z.string(), url: z.string() });
export type AgentVersion = z.infer<typeof AgentVersion>;

export const Assignment = z.object({
  /** Goes up with every change of run, prepare or releasePhase. */
  rev: z.number().int(),
  agent: AgentRef,
  project: z.string(),
  environment: z.string(),
  run: AgentRun.nullable(),
  prepare: AgentPrepare.nullable(),
  releasePhase: AgentReleasePhase.nullable(),
  /** meta.service of run's deployment (or prepare's); null when neither is a service. */
  service: ServiceSpec.nullable(),
  /** Releases kept on disk. */
  keep: z.number().int(),
  /** Report at least this often; two missed and the agent is lost. */
  heartbeatMs: z.number().int(),
  agentVersion: AgentVersion.nullable(),
});
export type Assignment = z.infer<typeof Assignment>;

export const AgentStateName = z.enum(AGENT_STATES);
export type AgentStateName = z.infer<typeof AgentStateName>;

export const AgentReport = z
  .object({
    state: AgentStateName,
    /** What `current` points to and runs. */
    current: z.object({ releaseId: Id, deploymentId: Id }).strict().nullable(),
    /** Deployment ids complete on disk. */
    prepared: z.array(Id).max(50),
    /** Its instance answers its health check. */
    healthy: z.boolean(),
    pid: z.number().int().min(1).max(4_194_304).nullable(),
    version: AgentVersionText,
    address: AgentAddress.optional(),
    port: Port.optional(),
    /** The last failure, one line. */
    error: z.string().max(2000).optional(),
    releasePhase: z
      .object({
        releaseId: Id,
        ok: z.boolean(),
        exitCode: z.number().int().nullable(),
        log: z.string().max(64 * 1024),
      })
      .strict()
      .optional(),
  })
  .strict();
export type AgentReport = z.infer<typeof AgentReport>;

export const ReportResponse = z.object({ rev: z.number().int() });
export type ReportResponse = z.infer<typeof ReportResponse>;

export const AgentDeployment = z.object({
  id: z.string(),
  manifestDigest: z.string(),
  service: ServiceSpec.nullable(),
  files: z.array(ManifestFile),
});
export type AgentDeployment = z.infer<typeof AgentDeployment>;

export const AgentBlobQuery = z.object({ deployment: Id });
export type AgentBlobQuery = z.infer<typeof AgentBlobQuery>;

export const AgentBlobParams = z.object({ digest: Sha256 });

// Management API

export const CreateEnrollmentRequest = z
  .object({
    /** How long the token may be used: 30m, 1h (default), 7d at most. */
    expiresIn: z.string().min(1).max(20).optional(),
  })
  .strict();
export type CreateEnrollmentRequest = z.infer<typeof CreateEnrollmentRequest>;

export const Enrollment = z.object({
  /** The one-time token; shown this once. */
  token: z.string(),
  expiresAt: z.string(),
  /** The line to run on the host. */
  command: z.string(),
});
export type Enrollment = z.infer<typeof Enrollment>;

export const Rotation = z.enum(ROTATIONS);
export type Rotation = z.infer<typeof Rotation>;

export const AgentCurrent = z.object({ releaseId: z.string(), releaseNumber: z.number().int().nullable(), deploymentId: z.string() });
export type AgentCurrent = z.infer<typeof AgentCurrent>;

/** An agent and its instance, as the server last heard of it. */
export const AgentView = z.object({
  id: z.string(),
  name: z.string(),
  environment: z.string(),
  address: z.string(),
  port: z.number().int(),
  version: z.string(),
  state: AgentStateName,
  current: AgentCurrent.nullable(),
  healthy: z.boolean(),
  rotation: Rotation,
  lost: z.boolean(),
  lastSeenAt: z.string(),
  enrolledAt: z.string(),
  retiredAt: z.string().nullable(),
  error: z.string().nullable(),
});
export type AgentView = z.infer<typeof AgentView>;

export const AgentList = z.object({ agents: z.array(AgentView) });
export type AgentList = z.infer<typeof AgentList>;

export const InstancesQuery = z.object({ environment: z.string().min(1).max(100).optional() });
export type InstancesQuery = z.infer<typeof InstancesQuery>;

/** One running instance of a service: where it is, what it runs, whether the edge sends it requests. */
export const Instance = z.object({
  agent: z.string(),
  name: z.string(),
  environment: z.string(),
  address: z.string(),
  port: z.number().int(),
  current: AgentCurrent.nullable(),
  healthy: z.boolean(),
  rotation: Rotation,
  lost: z.boolean(),
  lastSeenAt: z.string(),
});
export type Instance = z.infer<typeof Instance>;

export const InstanceList = z.object({ instances: z.array(Instance) });
export type InstanceList = z.infer<typeof InstanceList>;

export const RolloutStateName = z.enum(ROLLOUT_STATES);
export type RolloutStateName = z.infer<typeof RolloutStateName>;

/** What GET …/releases/:release/rollout answers: protocol/rollouts.ts, with the rollout's own schemas. */
export { Rollout, RolloutInstance } from './rollouts.ts';
