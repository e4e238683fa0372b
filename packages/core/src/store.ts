/**
 * The persistence contract. Core decides; a Store persists. Every guarantee that must hold
 * across processes (single use, attempt caps, per-address limits, outbox claims) is enforced
 * inside the store, in the database, never by reading and then writing from JavaScript.
 * All times are milliseconds since the Unix epoch, passed in (stores never read a clock).
 */
import type {
  AuthRequestRecord,
  LimitResult,
  CreateAuthRequestCommand,
  ReissueCommand,
  ReissueResult,
  ConsumeOtpCommand,
  ConsumeLinkCommand,
  ConsumeResult,
  OutboxClaim,
  ClaimOutboxCommand,
  DeliveryEvent,
  OutboxSettleCommand,
  OutboxRetryCommand,
  DevInboxMessage,
  ApiClientRecord,
  AdminSessionRecord,
  AdminRecord,
  ListAuthRequestsQuery,
  AuthRequestActivityPage,
  NewAuditEntry,
  AuditEntry,
  SettingEntry,
  ChangeSettingCommand,
  SweepCommand,
  SweepResult,
} from './store-records.js';

export * from './store-records.js';

/** One schema step recorded in the database; `appliedAt` in epoch ms when recorded. */
export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly appliedAt: number | null;
}

/** Where the database's schema stands against the steps this build knows. */
export interface MigrationStatus {
  readonly applied: readonly AppliedMigration[];
  /** Steps this build would apply, in order. */
  readonly pending: readonly { readonly version: number; readonly name: string }[];
  /** The highest version recorded in the database; 0 when none. */
  readonly databaseVersion: number;
  /** The highest version this build knows. */
  readonly latestVersion: number;
  /** The database was migrated by a newer build: this one must not use it. */
  readonly databaseNewer: boolean;
}

/** Opening and closing the database: every backend's lifecycle. */
export interface StoreLifecycle {
  /** Runs pending migrations; safe to call more than once and from several processes. Refuses a newer schema. */
  migrate(): Promise<void>;
  /** Reads the schema's state without changing anything. */
  migrationStatus(): Promise<MigrationStatus>;
  /** Reachable and migrated to the version this code expects. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/** Auth requests and their credentials: what send, verify and resend write and read. */
export interface AuthRequests {
  /** Writes the auth request, its outbox email and the send-limit count in one transaction. */
  createAuthRequest(command: CreateAuthRequestCommand): Promise<LimitResult>;
  findAuthRequest(id: string, now: number): Promise<AuthRequestRecord | null>;
  findAuthRequestByLinkLookup(linkLookup: Uint8Array, now: number): Promise<AuthRequestRecord | null>;
  /** Consumes by code in one atomic statement; a wrong code increments `attempts` in SQL. */
  consumeWithOtp(command: ConsumeOtpCommand): Promise<ConsumeResult>;
  /** Consumes by link token digest in one atomic statement; a wrong token burns nothing. */
  consumeWithLink(command: ConsumeLinkCommand): Promise<ConsumeResult>;
  /** New credentials for a pending request (old ones stop working) plus a new outbox email. */
  reissueCredentials(command: ReissueCommand): Promise<ReissueResult>;
  /**
   * Deletes at most `batchSize` auth requests that expired before `expiredBefore` (with their
   * outbox rows and delivery events), and at most `batchSize` rows of each sliding-window log
   * older than its cutoff. A count equal to `batchSize` means more may be left. Also drops, at
   * most `batchSize` each, send-budget windows that ended over a day before `now` and admin
   * sessions that expired before `now`.
   */
  sweepExpired(command: SweepCommand): Promise<SweepResult>;
}

/** The queue of emails to deliver and each email's delivery timeline. */
export interface Outbox {
  /** Leases due queued emails; never an email of a revoked client. */
  claimOutbox(command: ClaimOutboxCommand): Promise<OutboxClaim[]>;
  /** Marks sent and wipes the sealed payload. False when the lease was lost. */
  markOutboxSent(command: OutboxSettleCommand): Promise<boolean>;
  markOutboxRetry(command: OutboxRetryCommand): Promise<boolean>;
  /** Gives up: marks failed and wipes the sealed payload. */
  markOutboxFailed(command: OutboxSettleCommand): Promise<boolean>;
  /**
   * Counts an attempt and records it on the timeline, before the send. False, recording nothing,
   * when the row is no longer this owner's to send: its lease was taken over, or a resend
   * superseded it. The worker then does not send it.
   */
  recordDeliveryAttempt(command: OutboxSettleCommand): Promise<boolean>;
  deliveryTimeline(authRequestId: string): Promise<DeliveryEvent[]>;
  /** Undelivered (queued) emails. */
  outboxDepth(): Promise<number>;
  /** When the oldest undelivered email was queued (epoch ms), or null when none waits. */
  oldestQueuedEmailAt(): Promise<number | null>;
}

/** The development inbox: rendered emails kept for reading when no SMTP server is configured. */
export interface DevInbox {
  putDevInboxMessage(message: DevInboxMessage): Promise<void>;
  listDevInbox(options: { readonly limit: number }): Promise<DevInboxMessage[]>;
  getDevInboxMessage(id: string): Promise<DevInboxMessage | null>;
}

/** The API clients that call Sesame, with their secrets' digests and send budgets. */
export interface ApiClients {
  /** Writes the client and, when given, its audit entry in one transaction. */
  createApiClient(client: ApiClientRecord, audit?: NewAuditEntry): Promise<void>;
  findApiClient(id: string): Promise<ApiClientRecord | null>;
  listApiClients(): Promise<ApiClientRecord[]>;
  /**
   * Revokes an active client and, in the same transaction, fails every email it still has queued
   * (a `failed` timeline event with detail `client revoked`, payload wiped) and writes the audit
   * entry when given. False, changing nothing, when no such active client exists.
   */
  revokeApiClient(id: string, now: number, audit?: NewAuditEntry): Promise<boolean>;
  /**
   * Replaces the secret hash of an active client and adds one to its `secretVersion` (rotation),
   * with the audit entry when given, in one transaction. The new version, or null when no such
   * active client exists.
   */
  updateApiClientSecret(id: string, secretHash: string, audit?: NewAuditEntry): Promise<number | null>;
  /**
   * Stores the same secret's hash under the current server key (after it authenticated with a
   * fallback key's hash): the version stays, so its tokens stay valid. Only while the stored hash
   * is still `fromHash` and the client active, so a rotation meanwhile wins. False when nothing changed.
   */
  rehashApiClientSecret(id: string, fromHash: string, toHash: string): Promise<boolean>;
  /** Sets an active client's sends a minute (null: the deployment default), with its audit entry. False when none. */
  updateApiClientSendLimit(id: string, sendsPerMinute: number | null, audit?: NewAuditEntry): Promise<boolean>;
  touchApiClient(id: string, now: number): Promise<void>;
}

/** The dashboard's admins and their sign-in sessions. */
export interface Admins {
  /** Adds (or keeps) an admin; the key is the normalised email. */
  addAdmin(admin: AdminRecord): Promise<void>;
  findAdmin(emailKey: string): Promise<AdminRecord | null>;
  listAdmins(): Promise<AdminRecord[]>;
  /** Removes an admin and every session of theirs in one transaction. False when there was none. */
  removeAdmin(emailKey: string): Promise<boolean>;
  createAdminSession(session: AdminSessionRecord): Promise<void>;
  /** The session, while it has not expired and its admin still exists; null otherwise. */
  findAdminSession(idHash: string, now: number): Promise<AdminSessionRecord | null>;
  deleteAdminSession(idHash: string): Promise<void>;
}

/** Small JSON documents: the policy, branding, templates. */
export interface Settings {
  /** `null` when never set. */
  getSetting(key: string): Promise<string | null>;
  putSetting(key: string, value: string, now: number): Promise<void>;
  /** A setting with the time it was last written. */
  getSettingEntry(key: string): Promise<SettingEntry | null>;
  /** Writes (or removes) a setting and appends its audit entry, in one transaction. */
  changeSetting(command: ChangeSettingCommand): Promise<void>;
}

/** What the dashboard shows of the past: the activity view and the audit log. */
export interface Activity {
  /** Auth requests for the admin activity view: one page, newest first, one query. */
  listAuthRequests(query: ListAuthRequestsQuery): Promise<AuthRequestActivityPage>;
  appendAudit(entry: NewAuditEntry): Promise<void>;
  /** Newest first; `beforeId` pages back (entries with a smaller id). */
  listAudit(options: { readonly limit: number; readonly beforeId?: number }): Promise<AuditEntry[]>;
}

/** A whole backend: every role over one database. Callers take only the roles they use. */
export interface Store extends StoreLifecycle, AuthRequests, Outbox, DevInbox, ApiClients, Admins, Settings, Activity {}
