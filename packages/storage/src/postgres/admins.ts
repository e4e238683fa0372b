/** The dashboard's admins and their sign-in sessions on PostgreSQL. */
import type { Admins } from '@sesame/core';
import { toAdmin, toAdminSession, type AdminRow, type AdminSessionRow } from '../rows.js';
import { unstorable } from './session.js';
import type { Runners } from './transactions.js';

export function postgresAdmins(db: Runners): Admins {
  return {
    async addAdmin(admin) {
      await db.write((s) =>
        s.count(
          'INSERT INTO admins (email_key, email, created_at) VALUES ($1::text, $2::text, $3::bigint) ON CONFLICT (email_key) DO NOTHING',
          [admin.emailKey, admin.email, admin.createdAt],
        ),
      );
    },
    async findAdmin(emailKey) {
      if (unstorable(emailKey)) return null;
      const [row] = await db.read((s) =>
        s.rows<AdminRow>('SELECT email_key, email, created_at FROM admins WHERE email_key = $1::text', [emailKey]),
      );
      return row ? toAdmin(row) : null;
    },
    async listAdmins() {
      const rows = await db.read((s) => s.rows<AdminRow>('SELECT email_key, email, created_at FROM admins ORDER BY created_at, email_key'));
      return rows.map(toAdmin);
    },
    async removeAdmin(emailKey) {
      if (unstorable(emailKey)) return false;
      return db.transaction(async (s) => {
        await s.count('DELETE FROM admin_sessions WHERE email_key = $1::text', [emailKey]);
        return (await s.count('DELETE FROM admins WHERE email_key = $1::text', [emailKey])) > 0;
      });
    },

    async createAdminSession(session) {
      await db.write((s) =>
        s.count(
          'INSERT INTO admin_sessions (id_hash, email_key, created_at, expires_at) VALUES ($1::text, $2::text, $3::bigint, $4::bigint)',
          [session.idHash, session.emailKey, session.createdAt, session.expiresAt],
        ),
      );
    },
    async findAdminSession(idHash, now) {
      if (unstorable(idHash)) return null;
      // Valid while now < expiresAt, and only while its admin exists.
      const [row] = await db.read((s) =>
        s.rows<AdminSessionRow>(
          `SELECT s.id_hash, s.email_key, s.created_at, s.expires_at FROM admin_sessions s
           JOIN admins a ON a.email_key = s.email_key
           WHERE s.id_hash = $1::text AND s.expires_at > $2::bigint`,
          [idHash, now],
        ),
      );
      return row ? toAdminSession(row) : null;
    },
    async deleteAdminSession(idHash) {
      if (unstorable(idHash)) return;
      await db.write((s) => s.count('DELETE FROM admin_sessions WHERE id_hash = $1::text', [idHash]));
    },
  };
}
