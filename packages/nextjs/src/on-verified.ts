/**
 * The app's word on a verified address: `onVerified` runs after Sesame verified the code or
 * link and before any session exists. It may add claims to the session, pick where to land, or
 * refuse the sign-in with its own words. Anything it gets wrong (a throw, a malformed answer,
 * claims that cannot go in a cookie) ends the sign-in as INTERNAL, logged: never a session.
 */
import type { PasswordlessTemplate } from '@sesame/client';
import type { Failure } from './http.js';
import { safeNextPath } from './next-path.js';
import { checkClaims, type SessionClaims } from './session.js';

export interface VerifiedSignIn {
  /** The address Sesame verified, as it was typed at send. */
  readonly email: string;
  /** The template the email was sent with (Sesame's record). */
  readonly template: PasswordlessTemplate;
  /** The `state` Sesame handed back (the kit stores the `next` path there). */
  readonly state: string | undefined;
  /** Where the user will land: the checked `next` path. */
  readonly next: string;
  /** The request that finished the sign-in (link GET, form POST or JSON POST). */
  readonly request: Request;
}

export type SignInDecision =
  | undefined
  // `void` too: an onVerified that only records the sign-in need not return anything.
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type
  | void
  | {
      /** Put in the session cookie (JSON, at most 2048 bytes, no reserved names). */
      readonly claims?: SessionClaims | undefined;
      /** A same-origin path to land on instead of `next` (e.g. a welcome page after SIGNUP). */
      readonly redirectTo?: string | undefined;
      readonly refuse?: undefined;
    }
  | {
      /** Refuses the sign-in: no session is set and the user reads this text (plain text, at most 300 characters). */
      readonly refuse: string;
    };

export type OnVerified = (signIn: VerifiedSignIn) => SignInDecision | Promise<SignInDecision>;

export const MAX_REFUSAL_LENGTH = 300;

export type Decided =
  { readonly ok: true; readonly claims: SessionClaims; readonly next: string } | { readonly ok: false; readonly failure: Failure };

const KEYS = new Set(['claims', 'redirectTo', 'refuse']);

export async function decide(onVerified: OnVerified | undefined, signIn: VerifiedSignIn, fallback: string): Promise<Decided> {
  if (onVerified === undefined) return { ok: true, claims: {}, next: signIn.next };
  let decision: unknown;
  try {
    decision = await onVerified(signIn);
  } catch (error) {
    console.error('[sesame] onVerified threw; the sign-in was not completed.', error);
    return internal();
  }
  if (decision === undefined || decision === null) return { ok: true, claims: {}, next: signIn.next };
  try {
    if (typeof decision !== 'object' || Array.isArray(decision)) throw new Error('onVerified must return an object or nothing.');
    const fields = decision as Record<string, unknown>;
    const unknown = Object.keys(fields).filter((k) => !KEYS.has(k));
    if (unknown.length > 0) throw new Error(`onVerified returned unknown fields: ${unknown.join(', ')}.`);
    if (fields.refuse !== undefined) {
      const text = typeof fields.refuse === 'string' ? fields.refuse.trim() : '';
      if (text === '' || text.length > MAX_REFUSAL_LENGTH) {
        throw new Error(`onVerified's refuse must be a text of 1 to ${MAX_REFUSAL_LENGTH} characters.`);
      }
      return { ok: false, failure: { code: 'SIGN_IN_REFUSED', message: text } };
    }
    const claims = fields.claims === undefined ? {} : checkClaims(fields.claims);
    const next = fields.redirectTo === undefined ? signIn.next : safeNextPath(fields.redirectTo, fallback);
    return { ok: true, claims, next };
  } catch (error) {
    console.error(
      `[sesame] ${error instanceof Error ? error.message : 'onVerified answered something unusable.'} The sign-in was not completed.`,
    );
    return internal();
  }
}

function internal(): Decided {
  return { ok: false, failure: { code: 'INTERNAL' } };
}
