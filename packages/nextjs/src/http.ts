/** Request and response plumbing for the route handlers: cookies, bodies, errors, redirects. */
import { readCookie, serializeCookie, type CookieOptions } from './cookies.js';
import { userMessage, type KitErrorCode } from './messages.js';

/** A cookie store both `Request`/`Response` handlers and `next/headers` can stand behind. */
export interface Jar {
  get(name: string): string | undefined;
  set(name: string, value: string, options: CookieOptions): void;
}

export interface Failure {
  readonly code: KitErrorCode;
  readonly retryAfterSeconds?: number | undefined;
  /** The app's own words (a refusal from `onVerified`), shown instead of the code's text. */
  readonly message?: string | undefined;
}

/** Collects Set-Cookie headers while a handler runs and attaches them to its response. */
export class ResponseJar implements Jar {
  readonly #incoming: string | null;
  readonly #set = new Map<string, { value: string; header: string }>();

  constructor(request: Request) {
    this.#incoming = request.headers.get('cookie');
  }

  get(name: string): string | undefined {
    const written = this.#set.get(name);
    if (written) return written.value === '' ? undefined : written.value;
    return readCookie(this.#incoming, name);
  }

  set(name: string, value: string, options: CookieOptions): void {
    this.#set.set(name, { value, header: serializeCookie(name, value, options) });
  }

  apply(response: Response): Response {
    if (this.#set.size === 0) return response;
    // Responses made by Response.json/redirect may have immutable headers: copy into a new one.
    const headers = new Headers(response.headers);
    for (const { header } of this.#set.values()) headers.append('set-cookie', header);
    this.#set.clear();
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

const STATUS: Readonly<Record<KitErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 500,
  REDIRECT_URI_NOT_ALLOWED: 500,
  AUTH_REQUEST_NOT_FOUND: 404,
  INVALID_CREDENTIAL: 400,
  EXPIRED: 400,
  ALREADY_USED: 400,
  SAME_BROWSER_REQUIRED: 400,
  TOO_MANY_ATTEMPTS: 429,
  SEND_LIMIT_EXCEEDED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
  RATE_LIMITED: 429,
  HOST_NOT_ALLOWED: 400,
  SIGN_IN_REFUSED: 403,
  NOT_SIGNED_IN: 401,
};

export function errorJson(failure: Failure): Response {
  const headers = new Headers({ 'cache-control': 'no-store' });
  if (failure.retryAfterSeconds !== undefined) headers.set('retry-after', String(failure.retryAfterSeconds));
  return Response.json(
    {
      error: {
        code: failure.code,
        message: failure.message ?? userMessage(failure.code, failure.retryAfterSeconds),
        ...(failure.retryAfterSeconds === undefined ? {} : { retry_after: failure.retryAfterSeconds }),
      },
    },
    { status: STATUS[failure.code], headers },
  );
}

/**
 * 303: the browser follows a POST's answer with a GET, so a reload never re-submits. The
 * location stays relative: it is resolved against the address the browser used, and no
 * request header (Host, X-Forwarded-Host) can point it elsewhere.
 */
export function redirect(path: string): Response {
  return new Response(null, { status: 303, headers: { location: path, 'cache-control': 'no-store' } });
}

export interface Body {
  readonly json: boolean;
  readonly fields: Record<string, unknown>;
}

export async function readBody(request: Request): Promise<Body> {
  const type = request.headers.get('content-type') ?? '';
  if (type.includes('application/json')) {
    try {
      const parsed: unknown = await request.json();
      return {
        json: true,
        fields: typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {},
      };
    } catch {
      return { json: true, fields: {} };
    }
  }
  if (type.includes('application/x-www-form-urlencoded') || type.includes('multipart/form-data')) {
    try {
      const form = await request.formData();
      const fields: Record<string, unknown> = {};
      form.forEach((value, key) => {
        if (typeof value === 'string') fields[key] = value;
      });
      return { json: false, fields };
    } catch {
      return { json: false, fields: {} };
    }
  }
  // No body (e.g. a bare fetch POST to logout): answer in JSON, the API default.
  return { json: true, fields: {} };
}
