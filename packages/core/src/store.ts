/**
 * The persistence contract. Core decides; a Store persists. Every guarantee that must hold
 * across processes (single use, attempt caps, per-address limits, outbox claims) is enforced
 * inside the store, in the database, never by reading and then writing from JavaScript.
 * All times are milliseconds since the Unix epoch, passed in (stores never read a clock).
 */
import type { PasswordlessType, RedirectRule, TemplateType, WindowLimit } from './policy.js';

export type AuthRequestStatus = 'pending' | 'verified' | 'expired' | 'locked';

export interface AuthRequestRecord {
  readonly id: string;
  readonly clientId: string;
  /** As given (trimmed, NFC): used for display and delivery. */
  readonly email: string;
  /** Lower-cased key that limits are counted on. */
  readonly emailKey: string;
  readonly template: TemplateType;
  readonly type: PasswordlessType;
  readonly magiclinkAuthUri: string | null;
  readonly state: string | null;
  readonly templateVariables: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Failed OTP tries. */
  readonly attempts: number;
  /** Emails sent for this request (the first send plus resends). */
  readonly sends: number;
  readonly consumedAt: number | null;
  /** `expired` is derived on read: a pending request whose `expiresAt` has passed. */
  readonly status: AuthRequestStatus;
}

/** What a store writes for a new auth request: the record plus the digests of its credentials. */
export interface NewAuthRequest extends Omit<AuthRequestRecord, 'attempts' | 'sends' | 'consumedAt' | 'status'> {
  readonly otpHash: Uint8Array | null;
  readonly linkTokenHash: Uint8Array | null;
  readonly linkLookup: Uint8Array | null;
}

/** One email to deliver. The raw code and link travel only inside `sealedPayload` (AES-GCM). */
export interface NewOutboxEmail {
  readonly id: string;
  readonly authRequestId: string;
  readonly createdAt: number;
  readonly sealedPayload: Uint8Array;
  /**
   * Written already leased to this owner until this time: the email was handed straight to an
   * in-process worker (see `OutboxHandoff` in engine.ts), so no claim is made for it. No other
   * worker claims it while the lease lasts; after that (its process died) anyone may, as with a
   * claim's lease. Absent: queued unleased, for the next claim.
   */
  readonly lease?: OutboxLease;
}

export interface OutboxLease {
  readonly owner: string;
  readonly until: number;
}

export interface CredentialDigests {
  readonly otpHash: Uint8Array | null;
  readonly linkTokenHash: Uint8Array | null;
  readonly linkLookup: Uint8Array | null;
}

/** Which send limit refused a send: the address's, the calling client's budget, or the deployment's. */
export type SendLimitScope = 'address' | 'client' | 'deployment';

export type LimitResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number; readonly scope: SendLimitScope };

/**
 * A budget of sends (new requests and resends together) in fixed windows of `windowMs`, counted
 * under `key` in the database so that every instance shares it. `key` is `client:<id>` for a
 * client's budget and `deployment` for the whole deployment's.
 */
export interface SendBudget {
  readonly key: string;
  readonly scope: Exclude<SendLimitScope, 'address'>;
  readonly max: number;
  readonly windowMs: number;
}

export interface CreateAuthRequestCommand {
  readonly request: NewAuthRequest;
  readonly email: NewOutboxEmail;
  /** Emails per address (sends and resends together), checked and counted atomically. */
  readonly sendLimit: WindowLimit;
  /**
   * Budgets checked after the address limit and counted only when every check passes, in the
   * same transaction as the write (a refused send counts nowhere).
   */
  readonly budgets: readonly SendBudget[];
  readonly now: number;
}

export interface ReissueCommand {
  readonly id: string;
  /** The client asking: a request created by another client answers `not_found`, changing nothing. */
  readonly clientId: string;
  readonly digests: CredentialDigests;
  readonly email: NewOutboxEmail;
  readonly sendLimit: WindowLimit;
  readonly budgets: readonly SendBudget[];
  readonly now: number;
}

export type ReissueResult =
  | { readonly outcome: 'reissued'; readonly request: AuthRequestRecord }
  | { readonly outcome: 'send_limited'; readonly retryAfterMs: number; readonly scope: SendLimitScope }
  | { readonly outcome: 'not_found' | 'expired' | 'already_used' | 'locked' };

export interface ConsumeOtpCommand {
  readonly id: string;
  /** The client asking: a request created by another client answers `not_found`, consuming no attempt. */
  readonly clientId: string;
  readonly otpHash: Uint8Array;
  readonly now: number;
  /** The request locks when its failed tries reach this number. */
  readonly maxAttempts: number;
  /** Failed OTP tries per address; at the cap, OTP verify is refused for the address. */
  readonly addressFailureLimit: WindowLimit;
}

export interface ConsumeLinkCommand {
  readonly id: string;
  /** The client asking: a request created by another client answers `not_found`, burning nothing. */
  readonly clientId: string;
  readonly linkTokenHash: Uint8Array;
  readonly now: number;
  readonly maxAttempts: number;
}

export type ConsumeResult =
  | { readonly outcome: 'verified'; readonly request: AuthRequestRecord }
  /** Wrong credential; `attemptsLeft` is 0 when this failure locked the request. */
  | { readonly outcome: 'invalid_credential'; readonly attemptsLeft: number }
  | { readonly outcome: 'address_limited'; readonly retryAfterMs: number }
  | { readonly outcome: 'not_found' | 'expired' | 'already_used' | 'locked' };

// ---- outbox -------------------------------------------------------------------------------

export type OutboxStatus = 'queued' | 'sent' | 'failed' | 'superseded';

/** A claimed email with what the worker needs to render it. */
export interface OutboxClaim {
  readonly id: string;
  readonly authRequestId: string;
  readonly sealedPayload: Uint8Array;
  /** Delivery attempts made before this one. */
  readonly attempts: number;
  readonly createdAt: number;
  readonly request: Pick<
    AuthRequestRecord,
    'email' | 'template' | 'type' | 'magiclinkAuthUri' | 'templateVariables' | 'expiresAt' | 'clientId'
  >;
}

export interface ClaimOutboxCommand {
  /** Who holds the lease (worker id); completion calls must present it. */
  readonly owner: string;
  readonly now: number;
  readonly leaseMs: number;
  readonly limit: number;
}

export type DeliveryEventKind = 'queued' | 'attempt' | 'sent' | 'retry_scheduled' | 'failed' | 'superseded';

export interface DeliveryEvent {
  readonly outboxId: string;
  readonly authRequestId: string;
  readonly at: number;
  readonly kind: DeliveryEventKind;
  /** Attempt number (1-based) for attempt/sent/retry/failed events. */
  readonly attempt: number | null;
  /** SMTP reply or error text; never contains credentials. */
  readonly detail: string | null;
}

export interface OutboxSettleCommand {
  readonly id: string;
  readonly owner: string;
  readonly now: number;
  readonly detail: string | null;
}

export interface OutboxRetryCommand extends OutboxSettleCommand {
  readonly nextAttemptAt: number;
}

// ---- dev inbox ----------------------------------------------------------------------------

export interface DevInboxMessage {
  readonly id: string;
  readonly outboxId: string | null;
  readonly to: string;
  readonly from: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly createdAt: number;
}

// ---- API clients, admins, settings ---------------------------------------------------------

export interface ApiClientRecord {
  readonly id: string;
  readonly name: string;
  /** A slow or keyed hash of the client secret; the secret itself is never stored. */
  readonly secretHash: string;
  readonly redirectUris: readonly RedirectRule[];
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
  /**
   * Starts at 1 and grows by one at each rotation. Access tokens carry the version they were
   * issued under, so a rotation ends every token issued before it.
   */
  readonly secretVersion: number;
  /** Sends a minute this client may make; null for the deployment's default per-client budget. */
  readonly sendsPerMinute: number | null;
}

/**
 * A signed-in admin's session as the server keeps it: only a digest of the cookie's random id is
 * stored, so sign-out and removing an admin end the session on the server at once.
 */
export interface AdminSessionRecord {
  readonly idHash: string;
  readonly emailKey: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface AdminRecord {
  readonly emailKey: string;
  readonly email: string;
  readonly createdAt: number;
}

// ---- admin: activity, audit, settings with their change record --------------------------------

export interface ListAuthRequestsQuery {
  /** Only requests of this normalised address. */
  readonly emailKey?: string;
  /** Only requests in this status (`expired` and `pending` are told apart with `now`). */
  readonly status?: AuthRequestStatus;
  /** A `nextCursor` from the previous page: only requests older than it. */
  readonly cursor?: string;
  readonly limit: number;
  readonly now: number;
}

/** One auth request as the admin activity view shows it, with its delivery history inline. */
export interface AuthRequestActivity {
  readonly request: AuthRequestRecord;
  /** Status of its newest outbox email, or null when it has none left (swept). */
  readonly delivery: OutboxStatus | null;
  /** Every delivery event of the request, oldest first. */
  readonly timeline: readonly DeliveryEvent[];
}

/** The shape of an activity cursor (`createdAt.position`): checked at the edge before a store sees it. */
export const ACTIVITY_CURSOR_PATTERN = /^(\d{1,16})\.(\d{1,19})$/;

export interface AuthRequestActivityPage {
  /** Newest first (`createdAt`, then insertion order). */
  readonly items: readonly AuthRequestActivity[];
  /** Opaque, carries no auth request id; null on the last page. */
  readonly nextCursor: string | null;
}

export interface NewAuditEntry {
  readonly at: number;
  /** Who made the change (an admin's email). */
  readonly actor: string;
  /** What changed, e.g. `policy.update`, `client.revoke`. */
  readonly action: string;
  /** JSON documents of the state before and after (never a secret); null when there is none. */
  readonly before: string | null;
  readonly after: string | null;
}

export interface AuditEntry extends NewAuditEntry {
  /** Increasing with insertion order. */
  readonly id: number;
}

export interface SettingEntry {
  readonly value: string;
  readonly updatedAt: number;
}

export interface ChangeSettingCommand {
  readonly key: string;
  /** The new JSON document, or null to remove the setting (back to the default). */
  readonly value: string | null;
  readonly now: number;
  /** Recorded in the same transaction as the change. */
  readonly audit: NewAuditEntry;
}

export interface SweepCommand {
  /** Auth requests that expired before this go (with their outbox rows and events)… */
  readonly expiredBefore: number;
  readonly now: number;
  readonly batchSize: number;
  /**
   * …unless created at or after this; resend events at or after it stay too. A send counts
   * toward the per-address send limit for as long as its window lasts, and a send is counted
   * from its auth request (a resend from the send log), so a request is never swept while it
   * may still count. Default: `now` minus the longest send window a policy may set, one day;
   * the sweeper passes a cutoff from the policy in force.
   */
  readonly sendLogBefore?: number;
  /** Failed-code events at or after this stay (default: `now` minus the longest window, seven days). */
  readonly otpFailuresBefore?: number;
}

/** Rows each sweep deleted: auth requests (their outbox rows and events went with them) and log events. */
export interface SweepResult {
  readonly authRequests: number;
  readonly sendLog: number;
  readonly otpFailures: number;
}

/** Opening and closing the database: every backend's lifecycle. */
export interface StoreLifecycle {
  /** Runs pending migrations; safe to call more than once and from several processes. */
  migrate(): Promise<void>;
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
