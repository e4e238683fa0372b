/**
 * API clients (the apps calling Sesame): ids, secrets and how secrets are checked. A secret is
 * shown once at creation; only HMAC-SHA-256(client-secret key, id ‖ secret) is stored. Secrets
 * are 256-bit random, so a keyed fast hash is enough (there is nothing to brute-force), and the
 * key means a copied database alone cannot even confirm a guess.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseRedirectRules, type ApiClientRecord, type RedirectRule, type Store } from '@sesame/core';

const HASH_SCHEME = 'hmac-sha256';
const CLIENT_ID_PREFIX = 'skc_';

export interface NewClient {
  readonly record: ApiClientRecord;
  /** The raw secret: print it once, never store or log it. */
  readonly secret: string;
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
    },
  };
}

export async function createClient(
  store: Store,
  options: { key: Uint8Array; name: string; redirectUris: readonly string[]; now: number },
): Promise<NewClient> {
  const name = options.name.trim();
  if (name.length < 1 || name.length > 100) throw new Error('The client name must be 1 to 100 characters.');
  const redirectUris = options.redirectUris.flatMap((uri) => parseRedirectRules(uri));
  const client = newClient({ key: options.key, name, redirectUris, now: options.now });
  await store.createApiClient(client.record);
  return client;
}

/** Finds an active client whose secret matches; `null` for every kind of failure alike. */
export async function authenticateClient(store: Store, key: Uint8Array, clientId: string, secret: string): Promise<ApiClientRecord | null> {
  if (clientId.length === 0 || clientId.length > 200 || secret.length === 0 || secret.length > 200) return null;
  const client = await store.findApiClient(clientId);
  if (!client || client.revokedAt !== null) {
    // Same work as a real comparison, so timing does not tell unknown ids from wrong secrets.
    hashClientSecret(key, clientId, secret);
    return null;
  }
  return clientSecretMatches(key, client, secret) ? client : null;
}

/** A new secret for an active client; the old one stops working at once. `null` when there is no such active client. */
export async function rotateClientSecret(store: Store, options: { key: Uint8Array; clientId: string }): Promise<NewClient | null> {
  const client = await store.findApiClient(options.clientId);
  if (!client || client.revokedAt !== null) return null;
  const secret = randomBytes(32).toString('base64url');
  const secretHash = hashClientSecret(options.key, client.id, secret);
  if (!(await store.updateApiClientSecret(client.id, secretHash))) return null;
  return { secret, record: { ...client, secretHash } };
}
