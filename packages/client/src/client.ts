/**
 * A typed client for Sesame's passwordless REST API (docs/WIRE.md "REST"). It uses only `fetch`,
 * `Request`/`Response` and timers, so it runs in Node and in the Edge runtime alike. Access
 * tokens come from `POST /oauth/token` (client credentials), are cached until shortly before they
 * expire, and are fetched again once when the API answers 401 (a token revoked or signed with a
 * rotated secret).
 */
import { SesameApiError, codeForStatus, isSesameErrorCode, parseRetryAfter, type FieldViolation } from './errors.js';

export type PasswordlessTemplate = 'SIGNIN' | 'SIGNUP';
export type PasswordlessType = 'OTP' | 'LINK' | 'LINK_OTP';

export interface SesameClientOptions {
  /** Sesame's base URL, e.g. `http://127.0.0.1:8080` (a trailing slash is fine). */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Defaults to the global `fetch`; tests and unusual runtimes may pass their own. */
  readonly fetch?: typeof fetch;
  /** Milliseconds since the epoch; injected so tests can move time. Defaults to `Date.now`. */
  readonly now?: () => number;
  /** Per-request time limit in milliseconds (default 10 000). */
  readonly timeoutMs?: number;
}

export interface SendInput {
  readonly email: string;
  readonly template?: PasswordlessTemplate;
  /** Where the emailed link points; Sesame appends `?link_token=…`. */
  readonly magiclinkAuthUri?: string;
  /** Returned unchanged by verify. */
  readonly state?: string;
  /** Seconds, 60–3600; absent means the server's policy default. */
  readonly expiresIn?: number;
  readonly templateVariables?: Readonly<Record<string, string>>;
}

export interface SendResult {
  readonly authRequestId: string;
  /** Seconds since the epoch, as on the wire. */
  readonly expiresAt: number;
  readonly expiresIn: number;
  readonly passwordlessType: PasswordlessType;
}

export type VerifyInput =
  | { readonly code: string; readonly authRequestId: string; readonly linkToken?: never }
  | { readonly linkToken: string; readonly authRequestId?: string | undefined; readonly code?: never };

export interface VerifyResult {
  readonly email: string;
  readonly state: string | undefined;
  readonly template: PasswordlessTemplate;
  readonly passwordlessType: PasswordlessType;
}

interface CachedToken {
  readonly value: string;
  /** When to stop using it (ms since the epoch): a margin before the real expiry. */
  readonly refreshAt: number;
}

/** Tokens are dropped this long before they expire, so a request never races the expiry. */
const TOKEN_MARGIN_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 10_000;

export class SesameClient {
  readonly #baseUrl: string;
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  #token: CachedToken | undefined;
  /** Concurrent callers share one token request instead of each fetching their own. */
  #pendingToken: Promise<CachedToken> | undefined;

  constructor(options: SesameClientOptions) {
    if (options.baseUrl === '' || options.clientId === '' || options.clientSecret === '') {
      throw new TypeError('SesameClient needs baseUrl, clientId and clientSecret.');
    }
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#clientId = options.clientId;
    this.#clientSecret = options.clientSecret;
    // Bound so that runtimes which check `this` on fetch (browsers, some Edge hosts) accept the call.
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async sendPasswordlessEmail(input: SendInput): Promise<SendResult> {
    const body = await this.#call('send', {
      email: input.email,
      template: input.template,
      magiclink_auth_uri: input.magiclinkAuthUri,
      state: input.state,
      expires_in: input.expiresIn,
      template_variables: input.templateVariables,
    });
    return toSendResult(body);
  }

  async verifyPasswordlessEmail(input: VerifyInput): Promise<VerifyResult> {
    const body = await this.#call('verify', {
      code: input.code,
      link_token: input.linkToken,
      auth_request_id: input.authRequestId,
    });
    return {
      email: stringField(body, 'email'),
      state: typeof body.state === 'string' ? body.state : undefined,
      template: stringField(body, 'template') as PasswordlessTemplate,
      passwordlessType: stringField(body, 'passwordless_type') as PasswordlessType,
    };
  }

  async resendPasswordlessEmail(authRequestId: string): Promise<SendResult> {
    return toSendResult(await this.#call('resend', { auth_request_id: authRequestId }));
  }

  async #call(operation: 'send' | 'verify' | 'resend', payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    // Undefined members are dropped by JSON.stringify, so optional inputs stay absent on the wire.
    const body = JSON.stringify(payload);
    const url = `${this.#baseUrl}/api/v1/passwordless/email/${operation}`;
    let token = await this.#accessToken();
    let response = await this.#post(url, body, token);
    if (response.status === 401) {
      // Once only: a second 401 with a brand-new token means the credentials themselves are bad.
      this.#token = undefined;
      token = await this.#accessToken();
      response = await this.#post(url, body, token);
    }
    return readJson(response, this.#now());
  }

  #post(url: string, body: string, token: string): Promise<Response> {
    return this.#send(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      body,
    });
  }

  async #accessToken(): Promise<string> {
    const cached = this.#token;
    if (cached && cached.refreshAt > this.#now()) return cached.value;
    this.#pendingToken ??= this.#fetchToken().finally(() => {
      this.#pendingToken = undefined;
    });
    const fresh = await this.#pendingToken;
    this.#token = fresh;
    return fresh.value;
  }

  async #fetchToken(): Promise<CachedToken> {
    const response = await this.#send(`${this.#baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.#clientId,
        client_secret: this.#clientSecret,
      }).toString(),
    });
    if (!response.ok) {
      // OAuth errors have their own body (`{"error":"invalid_client"}`), not Sesame's envelope.
      await response.body?.cancel();
      throw new SesameApiError(codeForStatus(response.status), `Sesame token request failed with HTTP ${response.status}.`, {
        status: response.status,
      });
    }
    const body = await readJson(response, this.#now());
    const value = stringField(body, 'access_token');
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    const lifetimeMs = expiresIn * 1000;
    // Short-lived tokens still get reused for half their life rather than never.
    const margin = Math.min(TOKEN_MARGIN_MS, lifetimeMs / 2);
    return { value, refreshAt: this.#now() + lifetimeMs - margin };
  }

  async #send(url: string, init: RequestInit): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort();
    }, this.#timeoutMs);
    try {
      return await this.#fetch(url, { ...init, signal: controller.signal, cache: 'no-store' });
    } catch (error) {
      const timedOut = controller.signal.aborted;
      // Nothing answered: the service is unavailable (retry later), not broken.
      throw new SesameApiError('UNAVAILABLE', timedOut ? 'Sesame did not answer in time.' : 'Sesame could not be reached.', {
        status: 0,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readJson(response: Response, now: number): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = await response.json();
  } catch (error) {
    throw new SesameApiError(codeForStatus(response.ok ? 500 : response.status), `Sesame answered HTTP ${response.status} without JSON.`, {
      status: response.status,
      cause: error,
    });
  }
  if (!isRecord(parsed)) {
    throw new SesameApiError('INTERNAL', `Sesame answered HTTP ${response.status} with an unexpected body.`, { status: response.status });
  }
  if (response.ok) return parsed;
  throw toApiError(parsed, response, now);
}

function toApiError(body: Record<string, unknown>, response: Response, now: number): SesameApiError {
  const envelope = isRecord(body.error) ? body.error : {};
  const code = isSesameErrorCode(envelope.code) ? envelope.code : codeForStatus(response.status);
  const message = typeof envelope.message === 'string' ? envelope.message : `Sesame answered HTTP ${response.status}.`;
  const violations: FieldViolation[] = [];
  if (Array.isArray(envelope.field_violations)) {
    for (const item of envelope.field_violations as unknown[]) {
      if (isRecord(item) && typeof item.field === 'string' && typeof item.description === 'string') {
        violations.push({ field: item.field, description: item.description });
      }
    }
  }
  return new SesameApiError(code, message, {
    status: response.status,
    requestId: typeof envelope.request_id === 'string' ? envelope.request_id : undefined,
    fieldViolations: violations,
    retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after'), now),
  });
}

function toSendResult(body: Record<string, unknown>): SendResult {
  return {
    authRequestId: stringField(body, 'auth_request_id'),
    expiresAt: numberField(body, 'expires_at'),
    expiresIn: numberField(body, 'expires_in'),
    passwordlessType: stringField(body, 'passwordless_type') as PasswordlessType,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string') throw new SesameApiError('INTERNAL', `Sesame's answer lacks "${name}".`, { status: 200 });
  return value;
}

function numberField(body: Record<string, unknown>, name: string): number {
  const value = body[name];
  if (typeof value !== 'number') throw new SesameApiError('INTERNAL', `Sesame's answer lacks "${name}".`, { status: 200 });
  return value;
}
