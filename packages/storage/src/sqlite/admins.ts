/**
 * The SQLite store's admins and their sessions. Sessions are read from the table every time,
 * never memoised: signing out or removing an admin must end a session at once.
 */
import type { Admins } from '@sesame/core';
import { toAdmin, toAdminSession, type AdminRow, type AdminSessionRow } from '../rows.js';
import type { SqliteContext } from './context.js';

export function sqliteAdmins({ get, all, run, immediate }: SqliteContext): Admins {
  // The admin and every session of theirs go in one transaction.
  const removeAdmin = immediate((emailKey: string): boolean => {
    run('DELETE FROM admin_sessions WHERE email_key = @emailKey', { emailKey });
    return run('DELETE FROM admins WHERE email_key = @emailKey', { emailKey }).changes > 0;
  });

  return {
    async addAdmin(admin) {
      run('INSERT INTO admins (email_key, email, created_at) VALUES (@emailKey, @email, @createdAt) ON CONFLICT (email_key) DO NOTHING', {
        emailKey: admin.emailKey,
        email: admin.email,
        createdAt: admin.createdAt,
      });
      return Promise.resolve();
    },
    async findAdmin(emailKey) {
      const row = get('SELECT email_key, email, created_at FROM admins WHERE email_key = @emailKey', { emailKey }) as AdminRow | undefined;
      return Promise.resolve(row ? toAdmin(row) : null);
    },
    async listAdmins() {
      const rows = all('SELECT email_key, email, created_at FROM admins ORDER BY created_at, email_key') as AdminRow[];
      return Promise.resolve(rows.map(toAdmin));
    },
    async removeAdmin(emailKey) {
      return Promise.resolve(removeAdmin(emailKey));
    },

    async createAdminSession(session) {
      run('INSERT INTO admin_sessions (id_hash, email_key, created_at, expires_at) VALUES (@idHash, @emailKey, @createdAt, @expiresAt)', {
        idHash: session.idHash,
        emailKey: session.emailKey,
        createdAt: session.createdAt,
        expiresAt: session.expiresAt,
      });
      return Promise.resolve();
    },
    async findAdminSession(idHash, now) {
      // Valid while now < expiresAt, and only while its admin exists.
      const row = get(
        `SELECT s.id_hash, s.email_key, s.created_at, s.expires_at FROM admin_sessions s
         JOIN admins a ON a.email_key = s.email_key
         WHERE s.id_hash = @idHash AND s.expires_at > @now`,
        { idHash, now },
      ) as AdminSessionRow | undefined;
      return Promise.resolve(row ? toAdminSession(row) : null);
    },
    async deleteAdminSession(idHash) {
      run('DELETE FROM admin_sessions WHERE id_hash = @idHash', { idHash });
      return Promise.resolve();
    },
  };
}
