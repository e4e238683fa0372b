/**
 * One entry point from a database URL to a Store, so the server, the CLI and the conformance
 * suite's worker processes all open a database the same way (`SESAME_DATABASE_URL`).
 */
import { fileURLToPath } from 'node:url';
import type { Store } from '@sesame/core';
import { openPostgresStore } from './postgres/index.js';
import { openSqliteStore } from './sqlite/index.js';

/**
 * `postgres://` and `postgresql://` select PostgreSQL (one connection pool; several Sesame
 * instances may share the database). Anything else is SQLite: `file:./relative.db`,
 * `file:/absolute.db`, `file:///absolute.db` or a plain path.
 */
export function openStore(databaseUrl: string): Store {
  if (isPostgresUrl(databaseUrl)) return openPostgresStore({ url: databaseUrl.trim() });
  return openSqliteStore({ filename: sqliteFilename(databaseUrl) });
}

/** True for `postgres://…` and `postgresql://…` (any case). */
export function isPostgresUrl(databaseUrl: string): boolean {
  return /^postgres(ql)?:\/\//i.test(databaseUrl.trim());
}

/** The SQLite file a database URL names; throws for any other kind of URL. */
export function sqliteFilename(databaseUrl: string): string {
  const url = databaseUrl.trim();
  if (url === '') throw new Error('The database URL is empty; use e.g. file:./.sesame/sesame.db');
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(url)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive (C:\…), so a plain path.
  if (scheme === undefined) return url;
  if (scheme === 'file') {
    // file:///abs and file://localhost/abs are real file URLs; file:./rel and file:/abs are the
    // SQLite-style shorthand, which a URL parser would resolve against `/` and so break.
    if (url.startsWith('file://')) return fileURLToPath(url);
    const path = url.slice('file:'.length);
    if (path === '') throw new Error(`The database URL ${url} names no file.`);
    return decodeURIComponent(path);
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    throw new Error('This database URL names PostgreSQL, not a SQLite file: open it with openStore(url).');
  }
  throw new Error(`Unsupported database URL scheme "${scheme}:"; use file:./path.db (SQLite) or postgres://…`);
}
