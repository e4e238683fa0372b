/**
 * API clients (the apps calling Sesame): ids, secrets, how secrets are checked, and the changes
 * the CLI and the dashboard make to them. A secret is shown once at creation; only
 * HMAC-SHA-256(client-secret key, id ‖ secret) is stored. Secrets are 256-bit random, so a keyed
 * fast hash is enough (there is nothing to brute-force), and the key means a copied database
 * alone cannot even confirm a guess. Each change writes its audit entry in the same store call,
 * so the change and its record commit together or not at all.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  formatRedirectRule,
  parseRedirectRules,
  type ApiClientRecord,
  type NewAuditEntry,
  type RedirectRule,
  type Store,
} from '@sesame/core';

const HASH_SCHEME = 'hmac-sha256';
const CLIENT_ID_PREFIX = 'skc_';
/** The largest per-client send budget that may be set (sends a minute). */
export const MAX_SENDS_PER_MINUTE = 1_000_000;

export interface NewClient {
  readonly record: ApiClientRecord;
  /** The raw secret: print it once, never store or log it. */
  readonly secret: string;
}

/** Who made a change and when, for its audit entry. */
export interface ChangeAuthor {
  readonly actor: string;
  readonly at: number;
}

export type ClientAuditAction = 'client.create' | 'client.rotate' | 'client.revoke' | 'client.send_limit';

/** A client as the admin API, the CLI's JSON and the audit log show it: never its secret or hash. */
export function clientWire(client: ApiClientRecord) {
  return {
    id: client.id,
    name: client.name,
    // Redirect rules as the CLI takes them: a trailing `*` marks a prefix rule.
    redirect_uris: client.redirectUris.map(formatRedirectRule),
    created_at: new Date(client.createdAt).toISOString(),
    revoked_at: client.revokedAt === null ? null : new Date(client.revokedAt).toISOString(),
    last_used_at: client.lastUsedAt === null ? null : new Date(client.lastUsedAt).toISOString(),
    secret_version: client.secretVersion,
    /** null: the deployment's default per-client budget. */
    sends_per_minute: client.sendsPerMinute,
  };
}

export type ClientWire = ReturnType<typeof clientWire>;

function auditEntry(
  author: ChangeAuthor,
  action: ClientAuditAction,
  before: ApiClientRecord | null,
  after: ApiClientRecord,
): NewAuditEntry {
  return {
    at: author.at,
    actor: author.actor,
    action,
    before: before === null ? null : JSON.stringify(clientWire(before)),
    after: JSON.stringify(clientWire(after)),
  };
}

/** A per-client send budget: a whole number of sends a minute in [1, MAX_SENDS_PER_MINUTE], or null for the default. */
export function isSendsPerMinute(value: unknown): value is number | null {
  return value === null || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= MAX_SENDS_PER_MINUTE);
}

export function hashClientSecret(key: Uint8Array, clientId: string, secret: string): string {
  const digest = createHmac('sha256', key).update(`${clientId}\u0000${secret}`).digest('base64url');
  return `${HASH_SCHEME}:${digest}`;
}

/** Constant-time comparison of a presented secret against the stored hash. */
export function clientSecretMatches(key: Uint8Array, client: ApiClientRecord, presented: string): boolean {
  const expected = Buffer.from(client.secretHash);
  const actual = Buffer.from(hashClientSecret(key, client.id, presented));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function newClient(options: {
  readonly key: Uint8Array;
  readonly name: string;
  readonly redirectUris: readonly RedirectRule[];
  readonly now: number;
  readonly sendsPerMinute?: number | null;
}): NewClient {
  const id = `${CLIENT_ID_PREFIX}${randomBytes(12).toString('base64url')}`;
  const secret = randomBytes(32).toString('base64url');
  return {
    secret,
    record: {
      id,
      name: options.name,
      secretHash: hashClientSecret(options.key, id, secret),
      redirectUris: options.redirectUris,
      createdAt: options.now,
      revokedAt: null,
      lastUsedAt: null,
      secretVersion: 1,
      sendsPerMinute: options.sendsPerMinute ?? null,
    },
  };
}

export async function createClient(
  store: Store,
  options: {
    key: Uint8Array;
    name: string;
    redirectUris: readonly string[];
    now: number;
    sendsPerMinute?: number | null;
    /** Records `client.create` in the same transaction. */
    author?: ChangeAuthor;
  },
): Promise<NewClient> {
  const name = options.name.trim();
  if (name.length < 1 || name.length > 100) throw new Error('The client name must be 1 to 100 characters.');
  if (!isSendsPerMinute(options.sendsPerMinute ?? null))
    throw new Error(`Sends a minute must be a whole number from 1 to ${MAX_SENDS_PER_MINUTE}.`);
  const redirectUris = options.redirectUris.flatMap((uri) => parseRedirectRules(uri));
  const client = newClient({ key: options.key, name, redirectUris, now: options.now, sendsPerMinute: options.sendsPerMinute ?? null });
  await store.createApiClient(client.record, options.author ? auditEntry(options.author, 'client.create', null, client.record) : undefined);
  return client;
}

/**
 * Finds an active client whose secret matches; `null` for every kind of failure alike. A hash
 * made under a fallback secret's key (`fallbackKeys`) still matches, and is then stored again
 * under the current key, so the client keeps working once that fallback is removed.
 */
export async function authenticateClient(
  store: Store,
  key: Uint8Array,
  clientId: string,
  secret: string,
  fallbackKeys: readonly Uint8Array[] = [],
): Promise<ApiClientRecord | null> {
  if (clientId.length === 0 || clientId.length > 200 || secret.length === 0 || secret.length > 200) return null;
  const client = await store.findApiClient(clientId);
  if (!client || client.revokedAt !== null) {
    // Same work as a real comparison, so timing does not tell unknown ids from wrong secrets.
    hashClientSecret(key, clientId, secret);
    return null;
  }
  if (clientSecretMatches(key, client, secret)) return client;
  if (!fallbackKeys.some((fallback) => clientSecretMatches(fallback, client, secret))) return null;
  const secretHash = hashClientSecret(key, client.id, secret);
  // False only when a rotation or revocation landed meanwhile: then the old secret is no longer valid.
  if (!(await store.rehashApiClientSecret(client.id, client.secretHash, secretHash))) return null;
  return { ...client, secretHash };
}

/**
 * A new secret for an active client: the old secret and every access token issued before stop
 * working at once (tokens carry the secret version). `null` when there is no such active client.
 */
export async function rotateClientSecret(
  store: Store,
  options: { key: Uint8Array; clientId: string; author?: ChangeAuthor },
): Promise<NewClient | null> {
  const client = await store.findApiClient(options.clientId);
  if (!client || client.revokedAt !== null) return null;
  const secret = randomBytes(32).toString('base64url');
  const secretHash = hashClientSecret(options.key, client.id, secret);
  // The entry names the version this rotation expects to make; the store's answer is the truth.
  const expected: ApiClientRecord = { ...client, secretHash, secretVersion: client.secretVersion + 1 };
  const version = await store.updateApiClientSecret(
    client.id,
    secretHash,
    options.author ? auditEntry(options.author, 'client.rotate', null, expected) : undefined,
  );
  if (version === null) return null;
  return { secret, record: { ...expected, secretVersion: version } };
}

/**
 * Revokes a client: its tokens stop at once and its queued emails are failed, in the store's one
 * transaction with the audit entry. `null` for an unknown id; a revoked client comes back
 * unchanged with `revoked: false` (nothing recorded).
 */
export async function revokeClient(
  store: Store,
  options: { clientId: string; now: number; author?: ChangeAuthor },
): Promise<{ readonly record: ApiClientRecord; readonly revoked: boolean } | null> {
  const client = await store.findApiClient(options.clientId);
  if (!client) return null;
  if (client.revokedAt !== null) return { record: client, revoked: false };
  const after: ApiClientRecord = { ...client, revokedAt: options.now };
  const revoked = await store.revokeApiClient(
    client.id,
    options.now,
    options.author ? auditEntry(options.author, 'client.revoke', null, after) : undefined,
  );
  if (revoked) return { record: after, revoked };
  // Revoked by someone else in the meantime.
  const current = await store.findApiClient(client.id);
  return current ? { record: current, revoked: false } : null;
}

/** Sets an active client's sends a minute (null: the deployment default). `null` when there is no such active client. */
export async function setClientSendLimit(
  store: Store,
  options: { clientId: string; sendsPerMinute: number | null; author?: ChangeAuthor },
): Promise<ApiClientRecord | null> {
  if (!isSendsPerMinute(options.sendsPerMinute))
    throw new Error(`Sends a minute must be a whole number from 1 to ${MAX_SENDS_PER_MINUTE}.`);
  const client = await store.findApiClient(options.clientId);
  if (!client || client.revokedAt !== null) return null;
  const after: ApiClientRecord = { ...client, sendsPerMinute: options.sendsPerMinute };
  const changed = await store.updateApiClientSendLimit(
    client.id,
    options.sendsPerMinute,
    options.author ? auditEntry(options.author, 'client.send_limit', client, after) : undefined,
  );
  return changed ? after : null;
}
