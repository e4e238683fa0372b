/**
 * Real credentials for the conformance suite: codes, link tokens, keyed digests and sealed
 * payloads made by core exactly as the engine makes them. Nothing here is a stand-in.
 */
import {
  createCredentialHasher,
  createPayloadSealer,
  cryptoRandom,
  generateId,
  generateLinkToken,
  generateOtp,
  normalizeEmail,
  sealOutboxPayload,
  type CreateAuthRequestCommand,
  type CredentialDigests,
  type NewOutboxEmail,
  type PasswordlessType,
  type SendBudget,
  type TemplateType,
  type WindowLimit,
} from '@sesame/core';

/** A fixed test secret (≥ 32 bytes), so digests are reproducible across workers. */
export const TEST_SECRET = new Uint8Array(32).map((_, i) => i * 7 + 3);
export const hasher = createCredentialHasher(TEST_SECRET);
export const sealer = createPayloadSealer(TEST_SECRET);

/** An arbitrary fixed instant; every time in the suite is an offset from it. */
export const T0 = 1_700_000_000_000;
export const MINUTE = 60_000;
export const DAY = 24 * 60 * MINUTE;

/** So limits never interfere with a test that is not about them. */
export const GENEROUS: WindowLimit = { max: 1_000_000, windowMs: MINUTE };

export interface Credentials {
  readonly otp: string | null;
  readonly linkToken: string | null;
  readonly digests: CredentialDigests;
}

export interface Issued extends Credentials {
  readonly email: NewOutboxEmail;
}

export async function credentialsFor(id: string, type: PasswordlessType): Promise<Credentials> {
  const otp = type === 'LINK' ? null : generateOtp(cryptoRandom, 'NUMERIC', 6);
  const linkToken = type === 'OTP' ? null : generateLinkToken(cryptoRandom, Date.now());
  return {
    otp,
    linkToken,
    digests: {
      otpHash: otp === null ? null : await hasher.digest('otp', id, otp),
      linkTokenHash: linkToken === null ? null : await hasher.digest('link', id, linkToken),
      linkLookup: linkToken === null ? null : await hasher.digest('link-lookup', '', linkToken),
    },
  };
}

/** Fresh credentials plus the outbox email that would carry them. */
export async function issue(id: string, type: PasswordlessType, now: number): Promise<Issued> {
  const credentials = await credentialsFor(id, type);
  const outboxId = generateId(cryptoRandom);
  const sealedPayload = await sealOutboxPayload(sealer, outboxId, { otp: credentials.otp, linkToken: credentials.linkToken });
  return { ...credentials, email: { id: outboxId, authRequestId: id, createdAt: now, sealedPayload } };
}

export interface NewRequestOptions {
  readonly email?: string;
  readonly now?: number;
  readonly ttlMs?: number;
  readonly type?: PasswordlessType;
  readonly template?: TemplateType;
  readonly sendLimit?: WindowLimit;
  readonly state?: string | null;
  readonly templateVariables?: Record<string, string>;
  /** The client creating the request. Default `client-a`. */
  readonly clientId?: string;
  readonly budgets?: readonly SendBudget[];
}

export interface NewRequest extends Issued {
  readonly id: string;
  readonly command: CreateAuthRequestCommand;
}

export async function newRequest(options: NewRequestOptions = {}): Promise<NewRequest> {
  const now = options.now ?? T0;
  const type = options.type ?? 'LINK_OTP';
  const id = generateId(cryptoRandom);
  const issued = await issue(id, type, now);
  const email = normalizeEmail(options.email ?? `someone+${id.slice(0, 8)}@example.com`);
  const command: CreateAuthRequestCommand = {
    request: {
      id,
      clientId: options.clientId ?? 'client-a',
      email: email.address,
      emailKey: email.key,
      template: options.template ?? 'SIGNIN',
      type,
      magiclinkAuthUri: type === 'OTP' ? null : 'https://app.example.com/auth/verify',
      state: options.state === undefined ? 'state-123' : options.state,
      templateVariables: options.templateVariables ?? { company: 'Acme' },
      createdAt: now,
      expiresAt: now + (options.ttlMs ?? 5 * MINUTE),
      ...issued.digests,
    },
    email: issued.email,
    sendLimit: options.sendLimit ?? GENEROUS,
    budgets: options.budgets ?? [],
    now,
  };
  return { ...issued, id, command };
}

export async function otpDigest(id: string, code: string): Promise<Uint8Array> {
  return hasher.digest('otp', id, code);
}

export async function linkDigest(id: string, linkToken: string): Promise<Uint8Array> {
  return hasher.digest('link', id, linkToken);
}

export async function linkLookup(linkToken: string): Promise<Uint8Array> {
  return hasher.digest('link-lookup', '', linkToken);
}

/** A well-formed code that is certainly not `code`. */
export function wrongCode(code: string | null): string {
  return code === '000000' ? '111111' : '000000';
}
