/**
 * One entry point from a database URL to a Store, so the server, the CLI and the conformance
 * suite's worker processes all open a database the same way (`SESAME_DATABASE_URL`).
 */
import { fileURLToPath } from 'node:url';
import type { Store } from '@sesame/core';
import { openSqliteStore } from './sqlite/index.js';

/**
 * Accepts `file:./relative.db`, `file:/absolute.db`, `file:///absolute.db` and a plain path.
 * `postgres://` and `postgresql://` select PostgreSQL (not in this build yet).
 */
export function openStore(databaseUrl: string): Store {
  return openSqliteStore({ filename: sqliteFilename(databaseUrl) });
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
    throw new Error('PostgreSQL (postgres:// database URLs) is not yet supported by this Sesame build; use a file: URL for SQLite.');
  }
  throw new Error(`Unsupported database URL scheme "${scheme}:"; use file:./path.db (SQLite) or postgres://…`);
}
