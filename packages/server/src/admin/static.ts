/**
 * The dashboard's static files: the built SPA of `@sesame/admin-ui` (its `dist/`) at /admin.
 * Hashed assets are cached for a year; every other path that is not a file (and not the API)
 * answers index.html so the SPA's own routing works (`/admin/verify`, `/admin/policy`, …). Without
 * the package or its build, /admin says how to build it.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, sep } from 'node:path';
import { escapeHtml } from '@sesame/core';
import { Hono } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import { TransportError } from '../http/error-handler.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** The admin UI's dist directory, or null when the package or its build is missing. */
export function resolveAdminUiDist(): string | null {
  try {
    const packageJson = createRequire(import.meta.url).resolve('@sesame/admin-ui/package.json');
    return join(dirname(packageJson), 'dist');
  } catch {
    return null;
  }
}

export function notBuiltPage(reason: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sesame admin</title>
<style>body{font-family:system-ui,sans-serif;max-width:640px;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f4f4f5;padding:.1rem .3rem;border-radius:4px}</style></head>
<body><h1>Sesame admin dashboard</h1>
<p>The dashboard is not built (${escapeHtml(reason)}). Run <code>npm run build</code> in the Sesame repository, then reload this page.</p>
<p>The admin API at <code>/admin/api</code> works without it.</p>
</body></html>`;
}

export function adminStaticRoutes(options: { distDir?: string | null } = {}): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const distDir = options.distDir === undefined ? resolveAdminUiDist() : options.distDir;
  let root: Promise<string | null> | null = null;
  const realRoot = (): Promise<string | null> => (root ??= distDir === null ? Promise.resolve(null) : realpath(distDir).catch(() => null));

  /** A regular file inside the dist directory, or null (never a path outside it). */
  async function fileFor(relative: string): Promise<string | null> {
    const base = await realRoot();
    if (base === null || relative.includes('\0')) return null;
    let decoded: string;
    try {
      decoded = decodeURIComponent(relative);
    } catch {
      return null;
    }
    if (decoded.split('/').some((segment) => segment === '..' || segment.startsWith('.'))) return null;
    try {
      const resolved = await realpath(join(base, decoded));
      if (resolved !== base && !resolved.startsWith(base + sep)) return null;
      return (await stat(resolved)).isFile() ? resolved : null;
    } catch {
      return null;
    }
  }

  routes.get('/*', async (c) => {
    const path = c.req.path;
    if (path === '/admin/api' || path.startsWith('/admin/api/')) {
      throw new TransportError(404, 'NOT_FOUND', `No route for ${c.req.method} ${path.slice(0, 200)}.`);
    }
    const relative = path.replace(/^\/admin\/?/, '');
    const index = await fileFor('index.html');
    if (index === null) {
      return c.html(notBuiltPage(distDir === null ? '@sesame/admin-ui is not installed' : `${distDir} has no index.html`), 200, {
        'Cache-Control': 'no-store',
      });
    }
    const file = relative === '' ? null : await fileFor(relative);
    if (file !== null && file !== index) {
      const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
      const cache = relative.startsWith('assets/') ? IMMUTABLE : 'no-cache';
      return c.body(await readFile(file), 200, { 'Content-Type': type, 'Cache-Control': cache });
    }
    // A missing hashed asset is a 404, not the page: a stale tab must not parse HTML as script.
    if (relative.startsWith('assets/')) throw new TransportError(404, 'NOT_FOUND', 'No such dashboard asset.');
    return c.body(await readFile(index), 200, { 'Content-Type': TYPES['.html']!, 'Cache-Control': 'no-cache' });
  });

  return routes;
}
