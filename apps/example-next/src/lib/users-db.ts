/**
 * The app's own users and its revoked sessions, in one SQLite file (better-sqlite3, the driver
 * Sesame's own SQLite store uses). The file is `USERS_DATABASE`, default `.data/users.db` under
 * the directory the app runs in, created on first use. Node.js only; imported by server code
 * (users.ts, which is 'server-only') and by the startup check, which opens it early so a bad
 * path stops the server at once.
 *
 * An operator disables an account with
 *   sqlite3 .data/users.db "UPDATE users SET disabled = 1 WHERE email_key = 'ada@example.com'"
 * and its next sign-in is refused; signing in does not end its current sessions.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';

export function usersDatabasePath(): string {
  const configured = process.env.USERS_DATABASE;
  return resolve(configured !== undefined && configured !== '' ? configured : '.data/users.db');
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  email_key TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  last_sign_in_at INTEGER,
  disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS revoked_sessions (
  id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS revoked_sessions_expires_at ON revoked_sessions (expires_at);
`;

let db: Database.Database | undefined;

/** One connection per server process; the schema is created when missing. */
export function usersDatabase(): Database.Database {
  if (db !== undefined) return db;
  const path = usersDatabasePath();
  mkdirSync(dirname(path), { recursive: true });
  const opened = new Database(path);
  // WAL and a busy timeout: `next start` may run beside an operator's sqlite3 shell.
  opened.pragma('journal_mode = WAL');
  opened.pragma('busy_timeout = 5000');
  opened.exec(SCHEMA);
  db = opened;
  return opened;
}
