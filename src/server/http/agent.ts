import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ErrorCode } from '../../core/errors.ts';
import { errorBody } from './errors.ts';

/** Where the build writes the agent bundle (scripts/build-agent.mjs); the same from src/ and dist/. */
export const AGENT_DIST = fileURLToPath(new URL('../../../dist/agent/', import.meta.url));
export const AGENT_FILE = 'slipway-agent.js';

export interface AgentManifest {
  name: 'slipway-agent';
  version: string;
  /** Hex SHA-256 of the bytes GET /agent/slipway-agent.js serves. */
  sha256: string;
  size: number;
  url: string;
}

interface Agent {
  bytes: Buffer;
  manifest: AgentManifest;
}

/** The bundle's second line says its version: `// slipway-agent <version> (MIT). …`. */
const VERSION_LINE = /^\/\/ slipway-agent (\S+) /m;

async function readAgent(dir: string): Promise<Agent | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, AGENT_FILE));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const version = VERSION_LINE.exec(bytes.subarray(0, 512).toString('utf8'))?.[1] ?? 'unknown';
  return { bytes, manifest: { name: 'slipway-agent', version, sha256, size: bytes.length, url: `/agent/${AGENT_FILE}` } };
}

function notBuilt(reply: FastifyReply): FastifyReply {
  return reply.status(404).send(errorBody(ErrorCode.NOT_FOUND, 'the agent is not built on this server: run npm run build'));
}

/**
 * Publishes the agent at stable URLs, for hosts to install and upgrade from: the file, its
 * digest (`sha256sum -c` format) and a manifest with version, digest and size. Public, like the
 * package it comes from. The file is read and hashed per request, so the digest always names the
 * bytes served, and a rebuild shows up without a restart.
 */
export async function registerAgent(app: FastifyInstance, options: { dir?: string } = {}): Promise<void> {
  const dir = resolve(options.dir ?? AGENT_DIST);
  const common = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };

  app.get(`/agent/${AGENT_FILE}`, async (_request, reply) => {
    const agent = await readAgent(dir);
    if (agent === undefined) return notBuilt(reply);
    return reply
      .type('text/javascript; charset=utf-8')
      .headers({ ...common, etag: `"${agent.manifest.sha256}"`, 'x-slipway-agent-sha256': agent.manifest.sha256 })
      .send(agent.bytes);
  });

  app.get(`/agent/${AGENT_FILE}.sha256`, async (_request, reply) => {
    const agent = await readAgent(dir);
    if (agent === undefined) return notBuilt(reply);
    return reply.type('text/plain; charset=utf-8').headers(common).send(`${agent.manifest.sha256}  ${AGENT_FILE}\n`);
  });

  app.get('/agent/manifest.json', async (_request, reply) => {
    const agent = await readAgent(dir);
    if (agent === undefined) return notBuilt(reply);
    return reply.headers(common).send(agent.manifest);
  });
}

/** How long what the bundle's file says is trusted before it is read again (a rebuild shows up after this). */
const VERSION_CACHE_MS = 10_000;

/**
 * The bundle agents are asked to run (the assignment's `agentVersion`): version, digest and its
 * URL on this server, read and hashed at most every 10 s however many agents poll.
 */
export function agentVersionReader(options: { dir?: string | undefined } = {}): () => Promise<{ version: string; sha256: string; url: string } | null> {
  const dir = resolve(options.dir ?? AGENT_DIST);
  let cached: { at: number; value: Promise<{ version: string; sha256: string; url: string } | null> } | undefined;
  return () => {
    if (cached === undefined || Date.now() - cached.at > VERSION_CACHE_MS) {
      // A bundle that cannot be read now is none for now (asked again on the next poll): a poll never fails for it.
      const value = readAgent(dir).then(
        (agent) => (agent === undefined ? null : { version: agent.manifest.version, sha256: agent.manifest.sha256, url: agent.manifest.url }),
        () => {
          cached = undefined;
          return null;
        },
      );
      cached = { at: Date.now(), value };
    }
    return cached.value;
  };
}
