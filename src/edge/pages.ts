import type { ServerResponse } from 'node:http';
import { CACHE_CONTROL, CacheMode } from './manifest-cache.ts';

/** The edge's own small HTML pages, for when a deployment has nothing to say itself. */

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function edgePage(status: number, title: string, message: string): Buffer {
  return Buffer.from(
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${status} ${escapeHtml(title)}</title>` +
      `<meta name="viewport" content="width=device-width"><style>body{font:16px system-ui,sans-serif;margin:4rem auto;max-width:40rem;padding:0 1rem;color:#222}</style></head>` +
      `<body><h1>${status} ${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><small>Slipway edge</small></p></body></html>\n`,
  );
}

/** The headers every page ends with: revalidated on each use, never sniffed. */
export const PAGE_HEADERS_TAIL: readonly string[] = ['Cache-Control', CACHE_CONTROL[CacheMode.revalidate], 'X-Content-Type-Options', 'nosniff'];

/** Answers with one of the edge's pages (its body left out for HEAD). */
export function writePage(res: ServerResponse, status: number, title: string, message: string, extra: readonly string[] = []): void {
  const page = edgePage(status, title, message);
  res.writeHead(status, ['Content-Type', 'text/html; charset=utf-8', 'Content-Length', String(page.byteLength), ...PAGE_HEADERS_TAIL, ...extra]);
  res.end(res.req.method === 'HEAD' ? undefined : page);
}
