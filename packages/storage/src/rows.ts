/**
 * Row shapes shared by the SQLite and PostgreSQL stores (the schemas are the same table for
 * table) and their mapping to core's records. SQL dialects differ; what a row means does not.
 */
import type {
  AdminRecord,
  AdminSessionRecord,
  ApiClientRecord,
  AuthRequestRecord,
  DeliveryEvent,
  DeliveryEventKind,
  DevInboxMessage,
  OutboxClaim,
  PasswordlessType,
  RedirectRule,
  TemplateType,
} from '@sesame/core';

export interface AuthRequestRow {
  id: string;
  client_id: string;
  email: string;
  email_key: string;
  template: TemplateType;
  type: PasswordlessType;
  magiclink_auth_uri: string | null;
  state: string | null;
  template_variables: string;
  created_at: number;
  expires_at: number;
  attempts: number;
  sends: number;
  consumed_at: number | null;
  status: 'pending' | 'verified' | 'locked';
}

export interface DeliveryEventRow {
  outbox_id: string;
  auth_request_id: string;
  at: number;
  kind: DeliveryEventKind;
  attempt: number | null;
  detail: string | null;
}

export interface DevInboxRow {
  id: string;
  outbox_id: string | null;
  to_address: string;
  from_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  created_at: number;
}

export interface ApiClientRow {
  id: string;
  name: string;
  secret_hash: string;
  redirect_uris: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  secret_version: number;
  sends_per_minute: number | null;
}

export interface AdminSessionRow {
  id_hash: string;
  email_key: string;
  created_at: number;
  expires_at: number;
}

export interface AdminRow {
  email_key: string;
  email: string;
  created_at: number;
}

export const AUTH_REQUEST_COLUMNS = `id, client_id, email, email_key, template, type, magiclink_auth_uri, state,
  template_variables, created_at, expires_at, attempts, sends, consumed_at, status`;

export function toRecord(row: AuthRequestRow, now: number): AuthRequestRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    email: row.email,
    emailKey: row.email_key,
    template: row.template,
    type: row.type,
    magiclinkAuthUri: row.magiclink_auth_uri,
    state: row.state,
    templateVariables: parseVariables(row.template_variables),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    attempts: row.attempts,
    sends: row.sends,
    consumedAt: row.consumed_at,
    // Valid while now < expiresAt: at the instant itself the request has expired.
    status: row.status === 'pending' && row.expires_at <= now ? 'expired' : row.status,
  };
}

export function parseVariables(json: string): Readonly<Record<string, string>> {
  return JSON.parse(json) as Record<string, string>;
}

export function toDevInboxMessage(row: DevInboxRow): DevInboxMessage {
  return {
    id: row.id,
    outboxId: row.outbox_id,
    to: row.to_address,
    from: row.from_address,
    subject: row.subject,
    text: row.text_body,
    html: row.html_body,
    createdAt: row.created_at,
  };
}

export function toApiClient(row: ApiClientRow): ApiClientRecord {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    redirectUris: JSON.parse(row.redirect_uris) as RedirectRule[],
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    secretVersion: row.secret_version,
    sendsPerMinute: row.sends_per_minute,
  };
}

/** The columns of `api_clients`, in the order both stores read them. */
export const API_CLIENT_COLUMNS =
  'id, name, secret_hash, redirect_uris, created_at, revoked_at, last_used_at, secret_version, sends_per_minute';

export function toAdminSession(row: AdminSessionRow): AdminSessionRecord {
  return { idHash: row.id_hash, emailKey: row.email_key, createdAt: row.created_at, expiresAt: row.expires_at };
}

export function toAdmin(row: AdminRow): AdminRecord {
  return { emailKey: row.email_key, email: row.email, createdAt: row.created_at };
}

export function toDeliveryEvent(row: DeliveryEventRow): DeliveryEvent {
  return {
    outboxId: row.outbox_id,
    authRequestId: row.auth_request_id,
    at: row.at,
    kind: row.kind,
    attempt: row.attempt,
    detail: row.detail,
  };
}

/** The outcomes of a consume or reissue on a request that can no longer be used. */
export type UnusableOutcome = 'not_found' | 'expired' | 'already_used' | 'locked';

/** Why a request that an atomic UPDATE did not match cannot be used; null when it still can. */
export function unusableOutcome(row: AuthRequestRow | undefined, now: number, maxAttempts: number): UnusableOutcome | null {
  if (!row) return 'not_found';
  if (row.consumed_at !== null || row.status === 'verified') return 'already_used';
  if (row.status === 'locked') return 'locked';
  if (row.expires_at <= now) return 'expired';
  if (row.attempts >= maxAttempts) return 'locked';
  return null;
}

/** The columns of an outbox row that a claim returns. */
export interface ClaimedOutboxRow {
  id: string;
  auth_request_id: string;
  attempts: number;
  created_at: number;
  next_attempt_at: number;
}

/** The columns of its auth request that a claimed email is rendered from. */
export interface ClaimRequestRow {
  email: string;
  template: TemplateType;
  type: PasswordlessType;
  magiclink_auth_uri: string | null;
  template_variables: string;
  expires_at: number;
  client_id: string;
}

/** Claim order, due first, then by id (UPDATE … RETURNING has no defined order). */
export function claimOrder(a: ClaimedOutboxRow, b: ClaimedOutboxRow): number {
  return a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function toOutboxClaim(row: ClaimedOutboxRow, request: ClaimRequestRow, sealedPayload: Uint8Array): OutboxClaim {
  return {
    id: row.id,
    authRequestId: row.auth_request_id,
    sealedPayload,
    attempts: row.attempts,
    createdAt: row.created_at,
    request: {
      email: request.email,
      template: request.template,
      type: request.type,
      magiclinkAuthUri: request.magiclink_auth_uri,
      templateVariables: parseVariables(request.template_variables),
      expiresAt: request.expires_at,
      clientId: request.client_id,
    },
  };
}
