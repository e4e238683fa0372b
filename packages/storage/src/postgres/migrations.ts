/**
 * The PostgreSQL schema, step for step the same as the SQLite one (../sqlite/migrations.ts): same
 * tables, columns, versions and meaning; only the SQL dialect differs. A step is never edited
 * once released: a change is a new step, in both folders, under the same version number.
 *
 * Conventions: times are BIGINT milliseconds since the epoch (passed in by core, never read from
 * the database clock); digests and sealed payloads are BYTEA; no column holds a raw credential.
 * Keys and ids compare bytewise (COLLATE "C"), as SQLite's BINARY collation does, so every
 * ORDER BY agrees with the SQLite store whatever the database's default locale.
 */
import type { Migration } from '../sqlite/migrations.js';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'auth requests, outbox, limits, dev inbox, clients, admins, settings',
    sql: `
      CREATE TABLE auth_requests (
        id                 TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        client_id          TEXT    NOT NULL,
        email              TEXT    NOT NULL,
        email_key          TEXT COLLATE "C" NOT NULL,
        template           TEXT    NOT NULL CHECK (template IN ('SIGNIN', 'SIGNUP')),
        type               TEXT    NOT NULL CHECK (type IN ('OTP', 'LINK', 'LINK_OTP')),
        magiclink_auth_uri TEXT,
        state              TEXT,
        template_variables TEXT    NOT NULL,
        otp_hash           BYTEA,
        link_token_hash    BYTEA,
        link_lookup        BYTEA,
        created_at         BIGINT  NOT NULL,
        expires_at         BIGINT  NOT NULL,
        attempts           INTEGER NOT NULL DEFAULT 0,
        sends              INTEGER NOT NULL DEFAULT 1,
        consumed_at        BIGINT,
        -- 'expired' is never stored: it is derived on read from expires_at.
        status             TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'locked'))
      );
      -- A link token finds its row by this keyed digest; NULLs (OTP-only requests) do not collide.
      CREATE UNIQUE INDEX auth_requests_link_lookup ON auth_requests (link_lookup);
      CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at);

      CREATE TABLE outbox (
        id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        auth_request_id TEXT COLLATE "C" NOT NULL REFERENCES auth_requests (id) ON DELETE CASCADE,
        status          TEXT    NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'superseded')),
        -- NULL once the email is settled: the raw code and link must not outlive their use.
        sealed_payload  BYTEA,
        attempts        INTEGER NOT NULL DEFAULT 0,
        created_at      BIGINT  NOT NULL,
        next_attempt_at BIGINT  NOT NULL,
        lease_owner     TEXT,
        lease_until     BIGINT
      );
      -- Claims scan only undelivered rows, in the order they are handed out.
      CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'queued';
      CREATE INDEX outbox_auth_request ON outbox (auth_request_id);

      CREATE TABLE delivery_events (
        seq             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        outbox_id       TEXT COLLATE "C" NOT NULL,
        auth_request_id TEXT COLLATE "C" NOT NULL REFERENCES auth_requests (id) ON DELETE CASCADE,
        at              BIGINT  NOT NULL,
        kind            TEXT    NOT NULL CHECK (kind IN ('queued', 'attempt', 'sent', 'retry_scheduled', 'failed', 'superseded')),
        attempt         INTEGER,
        detail          TEXT
      );
      CREATE INDEX delivery_events_auth_request ON delivery_events (auth_request_id, at);

      -- Sliding windows: one row per counted event. The (key, at) index serves the window count;
      -- the (at) index serves the bounded prune.
      CREATE TABLE send_log (
        email_key TEXT COLLATE "C" NOT NULL,
        at        BIGINT  NOT NULL
      );
      CREATE INDEX send_log_key_at ON send_log (email_key, at);
      CREATE INDEX send_log_at ON send_log (at);

      CREATE TABLE otp_failures (
        email_key TEXT COLLATE "C" NOT NULL,
        at        BIGINT  NOT NULL
      );
      CREATE INDEX otp_failures_key_at ON otp_failures (email_key, at);
      CREATE INDEX otp_failures_at ON otp_failures (at);

      CREATE TABLE dev_inbox (
        -- SQLite's rowid: insertion order, the tie-break of the newest-first listing.
        seq          BIGINT  GENERATED ALWAYS AS IDENTITY,
        id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        outbox_id    TEXT,
        to_address   TEXT    NOT NULL,
        from_address TEXT    NOT NULL,
        subject      TEXT    NOT NULL,
        text_body    TEXT    NOT NULL,
        html_body    TEXT    NOT NULL,
        created_at   BIGINT  NOT NULL
      );
      CREATE INDEX dev_inbox_created_at ON dev_inbox (created_at);

      CREATE TABLE api_clients (
        id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        name          TEXT    NOT NULL,
        secret_hash   TEXT    NOT NULL,
        redirect_uris TEXT    NOT NULL,
        created_at    BIGINT  NOT NULL,
        revoked_at    BIGINT,
        last_used_at  BIGINT
      );

      CREATE TABLE admins (
        email_key  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        email      TEXT    NOT NULL,
        created_at BIGINT  NOT NULL
      );

      CREATE TABLE settings (
        key        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        value      TEXT    NOT NULL,
        updated_at BIGINT  NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'admin: activity indexes, audit log',
    sql: `
      -- SQLite's rowid: insertion order, the tie-break of the newest-first activity listing.
      ALTER TABLE auth_requests ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
      -- The activity view lists newest first, for everyone or for one address.
      CREATE INDEX auth_requests_created_at ON auth_requests (created_at, seq);
      CREATE INDEX auth_requests_email_key_created_at ON auth_requests (email_key, created_at, seq);

      -- Every change made through the admin API: who, when, what, and the documents before and after.
      CREATE TABLE audit_log (
        id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at          BIGINT  NOT NULL,
        actor       TEXT    NOT NULL,
        action      TEXT    NOT NULL,
        before_json TEXT,
        after_json  TEXT
      );
    `,
  },
  {
    version: 3,
    name: 'send log: resends only',
    sql: `
      -- A send now counts toward the per-address limit through its auth request's own row
      -- (auth_requests_email_key_created_at); the send log keeps resends only. Drop the rows that
      -- mirror a request's creation, or sends made just before the upgrade would count twice.
      DELETE FROM send_log
      WHERE EXISTS (SELECT 1 FROM auth_requests a WHERE a.email_key = send_log.email_key AND a.created_at = send_log.at);
    `,
  },
  // Version 4 is SQLite's alone: PostgreSQL's outbox has had the queued-only index since version 1.
  {
    version: 5,
    name: 'client secret versions and send budgets, send budget windows, admin sessions',
    sql: `
      -- Access tokens carry the secret version they were issued under: rotating ends them all.
      ALTER TABLE api_clients ADD COLUMN secret_version INTEGER NOT NULL DEFAULT 1;
      -- Sends a minute for this client; NULL: the deployment's default per-client budget.
      ALTER TABLE api_clients ADD COLUMN sends_per_minute INTEGER;

      -- Fixed-window send counters shared by every instance: one row per budget key and window
      -- (key 'client:<id>' or 'deployment'). A send bumps its rows by primary key, holding their
      -- row locks to the end of its transaction, so concurrent instances never overshoot.
      -- window_end serves the bounded sweep of windows long over.
      CREATE TABLE send_budget (
        key          TEXT COLLATE "C" NOT NULL,
        window_start BIGINT  NOT NULL,
        window_end   BIGINT  NOT NULL,
        n            INTEGER NOT NULL,
        PRIMARY KEY (key, window_start)
      );
      CREATE INDEX send_budget_window_end ON send_budget (window_end);

      -- Server-side admin sessions: only a digest of the cookie's random id is kept, so signing
      -- out or removing the admin ends the session at once.
      CREATE TABLE admin_sessions (
        id_hash    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        email_key  TEXT COLLATE "C" NOT NULL,
        created_at BIGINT  NOT NULL,
        expires_at BIGINT  NOT NULL
      );
      CREATE INDEX admin_sessions_email_key ON admin_sessions (email_key);
      CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);
    `,
  },
];

export const POSTGRES_LATEST_VERSION = POSTGRES_MIGRATIONS.reduce((max, step) => Math.max(max, step.version), 0);
