/**
 * The passwordless engine: send, verify (by code or link token) and resend, exactly as
 * docs/ARCHITECTURE.md "The flow" describes. Pure decisions over injected ports; persistence and
 * every cross-request guarantee live behind `Store`.
 */
import {
  generateTimeOrderedId,
  generateLinkToken,
  linkLookupKey,
  generateOtp,
  normalizeOtp,
  type CredentialHasher,
  type PayloadSealer,
} from './credentials.js';
import { SesameError, invalidArgument } from './errors.js';
import { parseInput, resendInputSchema, sendInputSchema, verifyInputSchema, normalizeEmail } from './input.js';
import { sealOutboxPayload, type OutboxPayload } from './outbox-payload.js';
import type { PasswordlessType, Policy, RedirectRule, TemplateType } from './policy.js';
import type { Clock, RandomSource } from './ports.js';
import { canonicalMagicLinkUri, isRedirectAllowed } from './redirect.js';
import { sendBudgetsFor, sendLimitError, storedTemplateVariables, type SendBudgetSettings } from './send-rules.js';
import type { AuthRequestRecord, ConsumeResult, CredentialDigests, NewOutboxEmail, OutboxClaim, OutboxLease, Store } from './store.js';

export interface EngineDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly hasher: CredentialHasher;
  readonly sealer: PayloadSealer;
  /** The policy in force; read on every call so a change applies at once. */
  readonly policy: () => Policy | Promise<Policy>;
  /** An outbox worker in this process that takes new emails straight from the engine. */
  readonly outbox?: OutboxHandoff;
  /**
   * Sends a minute per API client (unless the client sets its own) and for the whole
   * deployment, counted by the store with every send and resend. Absent: no budget applies.
   */
  readonly sendBudgets?: SendBudgetSettings;
  /**
   * The custom variable names a template uses. Given, only those of a request's
   * `template_variables` are stored and emailed; the others are dropped.
   */
  readonly declaredTemplateVariables?: (template: TemplateType) => ReadonlySet<string> | Promise<ReadonlySet<string>>;
}

/**
 * How a new email reaches a worker in the same process without a claim. A claim is a write per
 * row (the lease), a read of each row's auth request and the opening of its sealed payload: all
 * of it about what the engine has just written and still holds. So the email is written already
 * leased to the worker, and once its transaction has committed the worker is given what a claim
 * would have returned, with the payload unsealed. The sealed copy is still written: should the
 * process die first, the lease lapses and any worker claims and delivers the email as usual.
 */
export interface OutboxHandoff {
  /** The lease to write a new email with (taken at `now`), or null to leave it to a claim: the worker is stopped or has enough waiting. */
  lease(now: number): OutboxLease | null;
  /** An email written with a lease from `lease()`, after its transaction committed. */
  adopt(email: AdoptedEmail): void;
}

/** What a claim would have returned for an email, with its payload already open. */
export interface AdoptedEmail {
  readonly claim: OutboxClaim;
  readonly payload: OutboxPayload;
  readonly lease: OutboxLease;
}

/** The API client making the call, as the server authenticated it. */
export interface CallerClient {
  readonly id: string;
  /** Redirect URIs registered for this client, allowed in addition to the policy's list. */
  readonly redirectUris: readonly RedirectRule[];
  /** This client's sends a minute; null or absent for the deployment's per-client default. */
  readonly sendsPerMinute?: number | null;
}

export interface SendResult {
  readonly authRequestId: string;
  /** Milliseconds since the epoch (the wire carries seconds). */
  readonly expiresAt: number;
  /** Seconds from now until the request expires. */
  readonly expiresIn: number;
  readonly passwordlessType: PasswordlessType;
}

export interface VerifyResult {
  readonly authRequestId: string;
  readonly email: string;
  readonly state: string | null;
  readonly template: TemplateType;
  readonly passwordlessType: PasswordlessType;
}

export interface Engine {
  send(input: unknown, caller: CallerClient): Promise<SendResult>;
  /** Verifies a request `caller` created; another client's request is not found, and nothing is spent. */
  verify(input: unknown, caller: CallerClient): Promise<VerifyResult>;
  resend(input: unknown, caller: CallerClient): Promise<SendResult>;
}

export function createEngine(deps: EngineDeps): Engine {
  const { store, clock, random, hasher, sealer } = deps;
  const fallbackHashers = hasher.fallbacks ?? [];

  async function issueCredentials(
    policy: Policy,
    type: PasswordlessType,
    authRequestId: string,
    now: number,
  ): Promise<{ digests: CredentialDigests; email: NewOutboxEmail; payload: OutboxPayload }> {
    const otp = type === 'LINK' ? null : generateOtp(random, policy.otpFormat, policy.otpLength);
    const linkToken = type === 'OTP' ? null : generateLinkToken(random, now);
    const [otpHash, linkTokenHash, linkLookup] = await Promise.all([
      otp === null ? null : hasher.digest('otp', authRequestId, otp),
      linkToken === null ? null : hasher.digest('link', authRequestId, linkToken),
      linkToken === null ? null : linkLookupKey(hasher, linkToken, now),
    ]);
    const outboxId = generateTimeOrderedId(random, now);
    const payload = { otp, linkToken };
    const sealedPayload = await sealOutboxPayload(sealer, outboxId, payload);
    const lease = deps.outbox?.lease(now) ?? null;
    return {
      digests: { otpHash, linkTokenHash, linkLookup },
      email: { id: outboxId, authRequestId, createdAt: now, sealedPayload, ...(lease ? { lease } : {}) },
      payload,
    };
  }

  /** Gives a committed email written with a lease to the worker that holds it. */
  function handOff(email: NewOutboxEmail, payload: OutboxPayload, request: OutboxClaim['request']): void {
    if (!email.lease || !deps.outbox) return;
    const claim: OutboxClaim = {
      id: email.id,
      authRequestId: email.authRequestId,
      sealedPayload: email.sealedPayload,
      attempts: 0,
      createdAt: email.createdAt,
      request,
    };
    deps.outbox.adopt({ claim, payload, lease: email.lease });
  }

  return {
    async send(rawInput, caller) {
      const input = parseInput(sendInputSchema, rawInput);
      const policy = await deps.policy();
      const type = policy.passwordlessType;
      if (type !== 'OTP' && input.magiclinkAuthUri === undefined) {
        throw invalidArgument([{ field: 'magiclink_auth_uri', description: 'is required when the passwordless type includes a link' }]);
      }
      // From here on only the canonical string is used: it is what the rules judged, and what
      // is stored and emailed.
      let magiclinkAuthUri: string | null = null;
      if (input.magiclinkAuthUri !== undefined) {
        const checked = canonicalMagicLinkUri(input.magiclinkAuthUri);
        if (!checked.ok) throw invalidArgument([{ field: 'magiclink_auth_uri', description: checked.problem }]);
        if (!isRedirectAllowed(checked.href, [...policy.allowedRedirectUris, ...caller.redirectUris])) {
          throw new SesameError('REDIRECT_URI_NOT_ALLOWED');
        }
        magiclinkAuthUri = checked.href;
      }
      const templateVariables = await storedTemplateVariables(
        input.templateVariables ?? {},
        input.template,
        deps.declaredTemplateVariables,
      );

      const expiresIn = input.expiresIn || policy.expirySeconds;
      const now = clock.now();
      const id = generateTimeOrderedId(random, now);
      const email = normalizeEmail(input.email);
      const { digests, email: outboxEmail, payload } = await issueCredentials(policy, type, id, now);
      const expiresAt = now + expiresIn * 1000;
      const created = await store.createAuthRequest({
        request: {
          id,
          clientId: caller.id,
          email: email.address,
          emailKey: email.limitKey,
          template: input.template,
          type,
          magiclinkAuthUri,
          state: input.state ?? null,
          templateVariables,
          createdAt: now,
          expiresAt,
          ...digests,
        },
        email: outboxEmail,
        sendLimit: policy.emailsPerAddress,
        budgets: sendBudgetsFor(caller, deps.sendBudgets),
        now,
      });
      if (!created.ok) throw sendLimitError(created.scope, created.retryAfterMs);
      handOff(outboxEmail, payload, {
        email: email.address,
        template: input.template,
        type,
        magiclinkAuthUri,
        templateVariables,
        expiresAt,
        clientId: caller.id,
      });
      return { authRequestId: id, expiresAt, expiresIn, passwordlessType: type };
    },

    async verify(rawInput, caller) {
      const input = parseInput(verifyInputSchema, rawInput);
      const policy = await deps.policy();
      const now = clock.now();

      if (input.code !== undefined) {
        // The schema guarantees an auth_request_id with a code: a 6-digit code alone must never
        // be searchable across requests.
        const id = input.authRequestId ?? '';
        const code = normalizeOtp(input.code, policy.otpFormat);
        const otpHash = await hasher.digest('otp', id, code);
        // With fallback secrets set, one statement compares them all, so a wrong code costs one try.
        const otpHashFallbacks =
          fallbackHashers.length === 0 ? null : await Promise.all(fallbackHashers.map((h) => h.digest('otp', id, code)));
        const result = await store.consumeWithOtp({
          id,
          clientId: caller.id,
          otpHash,
          ...(otpHashFallbacks === null ? {} : { otpHashFallbacks }),
          now,
          maxAttempts: policy.otpAttemptsPerRequest,
          addressFailureLimit: policy.failedOtpPerAddress,
        });
        return verified(result);
      }

      const linkToken = input.linkToken ?? '';
      // The current secret first; a fallback's lookup (a read, nothing spent) only on a miss.
      let keyed = hasher;
      let found = await store.findAuthRequestByLinkLookup(await linkLookupKey(hasher, linkToken, now), now);
      for (const fallback of fallbackHashers) {
        if (found) break;
        found = await store.findAuthRequestByLinkLookup(await linkLookupKey(fallback, linkToken, now), now);
        keyed = fallback;
      }
      if (!found) throw new SesameError('INVALID_CREDENTIAL');
      // Another client's request answers as an unknown request does, before anything that could
      // tell it apart (its status, the same-browser check) and before anything is consumed.
      if (found.clientId !== caller.id) throw new SesameError('AUTH_REQUEST_NOT_FOUND');
      throwIfFinished(found);
      // Same-browser check before consuming: a failed check must not burn the token.
      const idGiven = input.authRequestId !== undefined && input.authRequestId !== '';
      if ((policy.sameBrowserEnforcement || idGiven) && input.authRequestId !== found.id) {
        throw new SesameError('SAME_BROWSER_REQUIRED');
      }
      const linkTokenHash = await keyed.digest('link', found.id, linkToken);
      return verified(
        await store.consumeWithLink({ id: found.id, clientId: caller.id, linkTokenHash, now, maxAttempts: policy.otpAttemptsPerRequest }),
      );
    },

    async resend(rawInput, caller) {
      const input = parseInput(resendInputSchema, rawInput);
      const policy = await deps.policy();
      const now = clock.now();
      const found = await store.findAuthRequest(input.authRequestId, now);
      if (!found || found.clientId !== caller.id) throw new SesameError('AUTH_REQUEST_NOT_FOUND');
      throwIfFinished(found);
      const { digests, email, payload } = await issueCredentials(policy, found.type, found.id, now);
      const result = await store.reissueCredentials({
        id: found.id,
        clientId: caller.id,
        digests,
        email,
        sendLimit: policy.emailsPerAddress,
        budgets: sendBudgetsFor(caller, deps.sendBudgets),
        now,
      });
      switch (result.outcome) {
        case 'reissued':
          handOff(email, payload, claimRequest(result.request));
          return {
            authRequestId: found.id,
            expiresAt: result.request.expiresAt,
            expiresIn: Math.max(0, Math.ceil((result.request.expiresAt - now) / 1000)),
            passwordlessType: result.request.type,
          };
        case 'send_limited':
          throw sendLimitError(result.scope, result.retryAfterMs);
        default:
          throw terminalError(result.outcome);
      }
    },
  };
}

/** The fields of an auth request that a claim carries. */
function claimRequest(record: AuthRequestRecord): OutboxClaim['request'] {
  const { email, template, type, magiclinkAuthUri, templateVariables, expiresAt, clientId } = record;
  return { email, template, type, magiclinkAuthUri, templateVariables, expiresAt, clientId };
}

function verified(result: ConsumeResult): VerifyResult {
  switch (result.outcome) {
    case 'verified':
      return {
        authRequestId: result.request.id,
        email: result.request.email,
        state: result.request.state,
        template: result.request.template,
        passwordlessType: result.request.type,
      };
    case 'invalid_credential':
      return fail(
        new SesameError(
          'INVALID_CREDENTIAL',
          result.attemptsLeft > 0
            ? `Invalid code or link token. ${result.attemptsLeft} attempt${result.attemptsLeft === 1 ? '' : 's'} left.`
            : 'Invalid code or link token. No attempts left: request a new code.',
        ),
      );
    case 'address_limited':
      return fail(
        new SesameError('TOO_MANY_ATTEMPTS', 'Too many failed codes for this address; sign in with the link or try later.', {
          retryAfterMs: result.retryAfterMs,
        }),
      );
    default:
      return fail(terminalError(result.outcome));
  }
}

function fail(error: SesameError): never {
  throw error;
}

/** Rejects early, before any credential work, a request that can no longer be verified or resent. */
function throwIfFinished(request: AuthRequestRecord): void {
  if (request.status === 'verified') throw terminalError('already_used');
  if (request.status === 'locked') throw terminalError('locked');
  if (request.status === 'expired') throw terminalError('expired');
}

function terminalError(outcome: 'not_found' | 'expired' | 'already_used' | 'locked'): SesameError {
  switch (outcome) {
    case 'not_found':
      return new SesameError('AUTH_REQUEST_NOT_FOUND');
    case 'expired':
      return new SesameError('EXPIRED');
    case 'already_used':
      return new SesameError('ALREADY_USED');
    case 'locked':
      // A locked request stays locked: the way forward is a new send, so no Retry-After.
      return new SesameError('TOO_MANY_ATTEMPTS', 'Too many wrong codes for this sign-in request; request a new one.');
  }
}
