/**
 * The records and commands of the persistence contract (`Store`, in store.ts): what a store
 * writes and reads, and the arguments of its calls. Times are milliseconds since the Unix epoch.
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
  /**
   * Digests of the same code under the fallback secrets (SESAME_SECRET_FALLBACKS): any of them
   * matching verifies, and a miss still counts one failed try, not one per key.
   */
  readonly otpHashFallbacks?: readonly Uint8Array[];
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
