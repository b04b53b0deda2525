import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { contentTypeOf } from '../../edge/content-type.ts';

/** Where `vite build --config web/vite.config.ts` writes the dashboard. */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/**
 * Vite emits flat, content-hashed names under assets/. Accepting only such names (no slash,
 * no leading dot) is what keeps path traversal impossible; nothing else under web/dist and
 * nothing outside it can be named.
 */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$/;

const IMMUTABLE = 'public, max-age=31536000, immutable';

// The dashboard holds an API token: no framing (clickjacking of Rollback), no foreign scripts.
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Slipway</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5">
<h1>Slipway</h1>
<p>dashboard not built: run <code>npm run build:web</code>, then reload this page.</p>
<p>The control plane is running: the API is at <a href="/api/docs">/api/docs</a>, health at <a href="/healthz">/healthz</a>.</p>
</body>
</html>
`;

export interface DashboardOptions {
  /** The built dashboard; default `web/dist` of this checkout. */
  distDir?: string;
}

/** Reads a file, or undefined when there is none (a missing build, a wrong asset name). */
async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
}

function sendHtml(reply: FastifyReply, body: Buffer | string, headers: Record<string, string>): FastifyReply {
  // no-cache: the page names the current hashed assets, so it is revalidated on every load.
  return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').headers(headers).send(body);
}

/**
 * Serves the dashboard built into web/dist: `/` is index.html, `/assets/<name>` the hashed
 * bundles. The dashboard routes with the URL hash (`/#/projects/shop`), so `/` is the only
 * page and no fallback can shadow /api, /healthz or /metrics. Files are read per request, so
 * a rebuild shows up without a restart; without a build `/` says how to make one.
 */
export async function registerDashboard(app: FastifyInstance, options: DashboardOptions = {}): Promise<void> {
  const dist = resolve(options.distDir ?? DASHBOARD_DIST);
  const assets = join(dist, 'assets');

  app.get('/', async (_request, reply) => {
    const html = await readIfPresent(join(dist, 'index.html'));
    if (html === undefined) return sendHtml(reply, NOT_BUILT_PAGE, { 'x-content-type-options': 'nosniff' });
    return sendHtml(reply, html, SECURITY_HEADERS);
  });

  app.get('/assets/:name', async (request, reply) => {
    const { name } = request.params as { name: string };
    const body = ASSET_NAME.test(name) ? await readIfPresent(join(assets, name)) : undefined;
    if (body === undefined) return reply.callNotFound();
    return reply.type(contentTypeOf(name)).header('cache-control', IMMUTABLE).header('x-content-type-options', 'nosniff').send(body);
  });
}
