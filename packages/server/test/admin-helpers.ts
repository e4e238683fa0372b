/**
 * Admin API test support: a browser-like cookie jar over the in-process app, and sign-in through
 * the real flow (CSRF token, session/start, the email from the outbox, session/verify).
 */
import { afterEach, beforeEach, expect } from 'vitest';
import { normalizeEmail } from '@sesame/core';
import { createOutboxWorker, createSmtpTransport, silentLogger, type OutboxWorker } from '@sesame/email';
import { startSmtpCapture, type SmtpCapture } from '@sesame/testkit';
import { harness, type Backend, type Harness } from './helpers.js';

export const ORIGIN = 'http://127.0.0.1:8080';

export interface AdminRequest {
  readonly method?: string;
  readonly json?: unknown;
  readonly headers?: Record<string, string>;
  /** Send the CSRF token (default true for state-changing methods); a string sends that value. */
  readonly csrf?: boolean | string;
}

/** One browser: its cookies (by name; every admin cookie has Path=/admin) and its CSRF token. */
export class AdminBrowser {
  readonly cookies = new Map<string, string>();
  csrfToken: string | null = null;

  constructor(private readonly h: Harness) {}

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Set-Cookie lines of the last responses, kept raw for attribute checks. */
  readonly setCookies: string[] = [];

  keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const maxAge = attributes.map((a) => a.trim()).find((a) => /^max-age=/i.test(a));
      if (value === '' || (maxAge !== undefined && Number(maxAge.split('=')[1]) <= 0)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async fetch(path: string, request: AdminRequest = {}): Promise<Response> {
    const method = request.method ?? (request.json === undefined ? 'GET' : 'POST');
    const headers: Record<string, string> = {};
    if (request.json !== undefined) headers['content-type'] = 'application/json';
    const wantsCsrf = request.csrf ?? method !== 'GET';
    if (typeof wantsCsrf === 'string') headers['x-csrf-token'] = wantsCsrf;
    else if (wantsCsrf) headers['x-csrf-token'] = await this.csrf();
    if (this.cookies.size > 0) headers.cookie = this.cookieHeader();
    Object.assign(headers, request.headers);
    const res = await this.h.request(path, {
      method,
      headers,
      ...(request.json === undefined ? {} : { body: JSON.stringify(request.json) }),
    });
    this.keep(res);
    return res;
  }

  async csrf(): Promise<string> {
    if (this.csrfToken === null) {
      const res = await this.fetch('/admin/api/csrf', { csrf: false });
      expect(res.status).toBe(200);
      this.csrfToken = ((await res.json()) as { csrf_token: string }).csrf_token;
    }
    return this.csrfToken;
  }

  async json<T>(path: string, request: AdminRequest = {}, status = 200): Promise<T> {
    const res = await this.fetch(path, request);
    const text = await res.text();
    expect(res.status, text).toBe(status);
    return (text === '' ? null : JSON.parse(text)) as T;
  }
}

export async function addAdmin(h: Harness, email: string): Promise<void> {
  const normalized = normalizeEmail(email);
  await h.store.addAdmin({ emailKey: normalized.key, email: normalized.address, createdAt: h.clock.now() });
}

/** Starts sign-in for `email` in `browser` and answers the 202 body. */
export async function startSignIn(browser: AdminBrowser, email: string): Promise<{ status: string; expires_in: number }> {
  return browser.json('/admin/api/session/start', { json: { email } }, 202);
}

/** Signs `email` (an admin) in by the code of the email it gets; answers the verify body. */
export async function signIn(h: Harness, browser: AdminBrowser, email: string): Promise<{ email: string; csrf_token: string }> {
  await startSignIn(browser, email);
  const mail = await h.latestMail(email);
  expect(mail.code).toMatch(/^\d{6}$/);
  return browser.json('/admin/api/session/verify', { json: { code: mail.code } });
}

/** A fresh harness on `backend` with `email` listed as an admin and signed in through the real flow. */
export async function signedInAdmin(backend: Backend, email: string): Promise<{ h: Harness; browser: AdminBrowser }> {
  const h = await harness({ backend });
  await addAdmin(h, email);
  const browser = new AdminBrowser(h);
  await signIn(h, browser, email);
  return { h, browser };
}

export interface AdminFixture {
  readonly h: Harness;
  readonly browser: AdminBrowser;
}

/**
 * Gives every test of the enclosing describe a fresh harness on `backend` with `email` listed as an
 * admin (signed in through the real flow when `signedIn`), handed to `use` before the test; closes it after.
 */
export function freshAdminEachTest(backend: Backend, email: string, use: (fixture: AdminFixture) => void, signedIn = false): void {
  let fixture: AdminFixture | undefined;
  beforeEach(async () => {
    if (signedIn) fixture = await signedInAdmin(backend, email);
    else {
      const h = await harness({ backend });
      await addAdmin(h, email);
      fixture = { h, browser: new AdminBrowser(h) };
    }
    use(fixture);
  });
  afterEach(async () => {
    await fixture?.h.close();
    fixture = undefined;
  });
}

/** An outbox worker on `h` delivering to a real SMTP server that answers 451 to the first `refuseFirst` messages. */
export interface SmtpOutbox {
  readonly smtp: SmtpCapture;
  readonly worker: OutboxWorker;
  close(): Promise<void>;
}

export async function startSmtpOutbox(h: Harness, refuseFirst: number): Promise<SmtpOutbox> {
  const smtp = await startSmtpCapture({ refuseFirst });
  const transport = createSmtpTransport({ url: smtp.url, from: 'Sesame <no-reply@example.com>' });
  const worker = createOutboxWorker({
    store: h.store,
    sealer: h.sesame.sealer,
    transport,
    clock: h.clock,
    logger: silentLogger,
    ownerId: 'smtp-worker',
    random: () => 0,
  });
  return {
    smtp,
    worker,
    async close() {
      await worker.stop();
      await transport.close();
      await smtp.close();
    },
  };
}

export async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}
