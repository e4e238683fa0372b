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
  type ApiClientRecord,
  type ConsumeLinkCommand,
  type ConsumeOtpCommand,
  type CreateAuthRequestCommand,
  type CredentialDigests,
  type NewOutboxEmail,
  type PasswordlessType,
  type ReissueCommand,
  type SendBudget,
  type Store,
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

/** The first instant after T0 where a one-minute window starts: send budgets count in fixed windows. */
export const W0 = Math.ceil(T0 / MINUTE) * MINUTE;

/** So limits never interfere with a test that is not about them. */
export const GENEROUS: WindowLimit = { max: 1_000_000, windowMs: MINUTE };

/** The failed tries that lock a request, unless a test asks for another cap. */
export const MAX_ATTEMPTS = 5;
/** Failed codes per address, high enough that only the tests about this cap reach it. */
export const ADDRESS_FAILURES: WindowLimit = { max: 50, windowMs: DAY };

export function clientBudget(clientId: string, max: number, windowMs = MINUTE): SendBudget {
  return { key: `client:${clientId}`, scope: 'client', max, windowMs };
}

export function deploymentBudget(max: number, windowMs = MINUTE): SendBudget {
  return { key: 'deployment', scope: 'deployment', max, windowMs };
}

/** An active API client with no redirect URIs and the deployment's default send limit. */
export function apiClient(id: string, overrides: Partial<ApiClientRecord> = {}): ApiClientRecord {
  return {
    id,
    name: `App ${id}`,
    secretHash: `hash-${id}`,
    redirectUris: [],
    createdAt: T0,
    revokedAt: null,
    lastUsedAt: null,
    secretVersion: 1,
    sendsPerMinute: null,
    ...overrides,
  };
}

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

/** What every verify of `request` by its creator carries. */
function verifyAsCreator(request: NewRequest, now: number) {
  return { id: request.id, clientId: request.command.request.clientId, now, maxAttempts: MAX_ATTEMPTS };
}

/** Builds a verify command; a test overrides the fields it is about. */
type VerifyCommand<C> = (request: NewRequest, credential: string | null, now: number, overrides?: Partial<C>) => Promise<C>;

/** A verify by code; a null code tries the empty one. The digest is bound to the request id, as the engine makes it. */
export const otpCommand: VerifyCommand<ConsumeOtpCommand> = async (request, code, now, overrides = {}) => {
  const otpHash = await otpDigest(request.id, code ?? '');
  return { ...verifyAsCreator(request, now), otpHash, addressFailureLimit: ADDRESS_FAILURES, ...overrides };
};

/** A verify by link; a null token tries the empty one. */
export const linkCommand: VerifyCommand<ConsumeLinkCommand> = async (request, linkToken, now, overrides = {}) => {
  const linkTokenHash = await linkDigest(request.id, linkToken ?? '');
  return { ...verifyAsCreator(request, now), linkTokenHash, ...overrides };
};

export interface ReissueOptions {
  readonly sendLimit?: WindowLimit;
  readonly budgets?: readonly SendBudget[];
  /** The client asking. Default: the request's creator. */
  readonly clientId?: string;
}

/** A resend of `request` with fresh credentials of its type, and those credentials. */
export async function reissueCommand(
  request: NewRequest,
  now: number,
  options: ReissueOptions = {},
): Promise<{ fresh: Issued; command: ReissueCommand }> {
  const fresh = await issue(request.id, request.command.request.type, now);
  const command: ReissueCommand = {
    id: request.id,
    clientId: options.clientId ?? request.command.request.clientId,
    digests: fresh.digests,
    email: fresh.email,
    sendLimit: options.sendLimit ?? GENEROUS,
    budgets: options.budgets ?? [],
    now,
  };
  return { fresh, command };
}

/** Resolves in a later turn of the event loop: where a change made elsewhere must be seen. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface RevokedWithEmails {
  /** Client c1's email still waiting in the outbox. */
  readonly queued: NewRequest;
  /** Client c1's email a worker holds a lease on. */
  readonly leased: NewRequest;
  /** Client c2's email, which the revocation of c1 leaves alone. */
  readonly other: NewRequest;
  /** What revokeApiClient answered. */
  readonly revoked: boolean;
}

/** Client c1 with a queued and a leased email, client c2 with a queued one, then c1 revoked: what a dialect's revocation must wipe. */
export async function revokeClientWithEmails(
  store: Pick<Store, 'createApiClient' | 'createAuthRequest' | 'revokeApiClient'>,
): Promise<RevokedWithEmails> {
  await store.createApiClient(apiClient('c1', { name: 'App', secretHash: 'h', createdAt: 1 }));
  const queued = await newRequest({ clientId: 'c1', now: T0 });
  const leased = await newRequest({ clientId: 'c1', now: T0 });
  const other = await newRequest({ clientId: 'c2', now: T0 });
  await store.createAuthRequest(queued.command);
  await store.createAuthRequest({ ...leased.command, email: { ...leased.email, lease: { owner: 'w', until: T0 + MINUTE } } });
  await store.createAuthRequest(other.command);
  const revoked = await store.revokeApiClient('c1', T0 + 1);
  return { queued, leased, other, revoked };
}
