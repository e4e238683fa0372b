/**
 * The app's users, as `onVerified` and `signIn.template` need them, and the kit's session store
 * (revoked session ids) in the same file. Addresses are keyed lower-cased and trimmed: the same
 * inbox typed with other capitals is the same user.
 */
import 'server-only';
import { randomUUID } from 'node:crypto';
import type { OnVerified, SessionStore } from '@sesame/nextjs';
import { usersDatabase } from './users-db';

export interface User {
  readonly id: string;
  readonly email: string;
  readonly createdAt: number;
  readonly disabled: boolean;
}

interface UserRow {
  id: string;
  email: string;
  created_at: number;
  disabled: number;
}

function emailKey(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

function toUser(row: UserRow): User {
  return { id: row.id, email: row.email, createdAt: row.created_at, disabled: row.disabled !== 0 };
}

export function findUser(email: string): User | undefined {
  const row = usersDatabase().prepare('SELECT id, email, created_at, disabled FROM users WHERE email_key = ?').get(emailKey(email)) as
    UserRow | undefined;
  return row === undefined ? undefined : toUser(row);
}

/** The user of `email`, created on its first sign-in; `last_sign_in_at` is recorded either way. */
export function userSignedIn(email: string, now = Date.now()): User {
  const row = usersDatabase()
    .prepare(
      `INSERT INTO users (id, email, email_key, created_at, last_sign_in_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (email_key) DO UPDATE SET last_sign_in_at = excluded.last_sign_in_at
       RETURNING id, email, created_at, disabled`,
    )
    .get(randomUUID(), email.trim(), emailKey(email), now, now) as UserRow;
  return toUser(row);
}

/** SIGNUP for an address the app has not seen, SIGNIN otherwise: Sesame picks the email's wording. */
export function templateFor(email: string): 'SIGNIN' | 'SIGNUP' {
  return findUser(email) === undefined ? 'SIGNUP' : 'SIGNIN';
}

export const DISABLED_MESSAGE = 'This account is disabled.';

/** A disabled account is refused (and not touched); anyone else is created or found, and signed in with their id. */
export const onVerified: OnVerified = ({ email }) => {
  if (findUser(email)?.disabled === true) return { refuse: DISABLED_MESSAGE };
  return { claims: { userId: userSignedIn(email).id } };
};

/** Revoked session ids, shared by every process that opens the same file. */
export const sessionStore: SessionStore = {
  revoke(id, expiresAt) {
    const db = usersDatabase();
    // Expired revocations can go: their cookies no longer verify anyway.
    db.prepare('DELETE FROM revoked_sessions WHERE expires_at <= ?').run(Date.now());
    db.prepare(
      'INSERT INTO revoked_sessions (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
    ).run(id, expiresAt);
  },
  isRevoked(id) {
    return usersDatabase().prepare('SELECT 1 FROM revoked_sessions WHERE id = ? AND expires_at > ?').get(id, Date.now()) !== undefined;
  },
};
