/**
 * The app's own users, end to end: Chromium against `next start` of the reference app, a real
 * `sesame start` and an SMTP capture, the users table in a SQLite file of the test's own. The
 * first sign-in creates the user (and Sesame sends the SIGNUP email), its id is in the session;
 * a second sign-in reuses it (SIGNIN email); a disabled user is refused with the app's words and
 * gets no session cookie, while a crafted URL cannot put those words on the page; and a
 * sign-out ends the session on the server, so a copy of the old cookie is refused; a session used
 * past half its life is renewed by the proxy.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpCapture } from '@sesame/testkit';
import { startStack, type Stack } from './harness.js';

const SESSION_SECRET = randomBytes(32).toString('base64url');
const SESSION_MAX_AGE = 40;
const run = randomBytes(4).toString('hex');
const address = (name: string): string => `${name}-${run}@example.test`;

let stack: Stack | undefined;
let mail: SmtpCapture | undefined;
let base = '';
let db: Database.Database | undefined;

interface UserRow {
  id: string;
  email: string;
  disabled: number;
}

const usersOf = (email: string): UserRow[] =>
  db!.prepare('SELECT id, email, disabled FROM users WHERE email_key = ?').all(email.toLowerCase()) as UserRow[];

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  return stack!.newPage();
}

async function requestEmail(page: Page, email: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
}

/** Signs in with the emailed link of the `nth` email to that address (counted without case); answers its subject. */
async function signInByLink(page: Page, email: string, nth: number): Promise<string> {
  await requestEmail(page, email);
  const message = await mail!.waitForMail(email, nth);
  await page.goto(message.link!);
  return message.subject ?? '';
}

const sessionCookieOf = async (context: BrowserContext): Promise<string | undefined> =>
  (await context.cookies()).find((c) => c.name === 'sesame_session')?.value;

async function sessionJson(cookie: string | undefined): Promise<{ authenticated: boolean; claims?: Record<string, unknown> }> {
  const response = await fetch(`${base}/api/auth/session`, { headers: cookie === undefined ? {} : { cookie: `sesame_session=${cookie}` } });
  return (await response.json()) as { authenticated: boolean; claims?: Record<string, unknown> };
}

describe("the reference app's own users", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    stack = await startStack({
      SESSION_SECRET,
      // Short enough for the renewal case to wait out half of it; longer than any other case.
      SESSION_MAX_AGE_SECONDS: String(SESSION_MAX_AGE),
      THROTTLE_SEND_PER_MINUTE: '1000',
      THROTTLE_VERIFY_PER_MINUTE: '1000',
    });
    ({ mail, base } = stack);
    // The app created the file at startup; the test reads and writes it as an operator would.
    db = new Database(stack.usersDatabase);
  }, 900_000);

  afterAll(async () => {
    db?.close();
    await stack?.stop();
  }, 60_000);

  it('the first sign-in creates the user and puts its id in the session; the second reuses it', async () => {
    const email = address('Ada');
    expect(usersOf(email)).toEqual([]);
    const first = await newPage();
    // An address the app has not seen gets Sesame's SIGNUP email.
    expect(await signInByLink(first.page, email, 1)).toMatch(/^Confirm your email/);
    await first.page.waitForURL(`${base}/dashboard`);
    const [created] = usersOf(email);
    expect(created).toMatchObject({ email, disabled: 0 });
    expect(await first.page.getByTestId('user-id').textContent()).toBe(created!.id);
    const session = await sessionJson(await sessionCookieOf(first.context));
    expect(session).toMatchObject({ authenticated: true, claims: { userId: created!.id } });

    // Another browser, the same address typed in other capitals: the same user, and a SIGNIN email.
    const second = await newPage();
    expect(await signInByLink(second.page, email.toUpperCase(), 2)).not.toMatch(/^Confirm your email/);
    await second.page.waitForURL(`${base}/dashboard`);
    expect(usersOf(email)).toEqual([created]);
    expect(await second.page.getByTestId('user-id').textContent()).toBe(created!.id);
  });

  it("a disabled user's sign-in shows the app's message and sets no session; a crafted URL cannot", async () => {
    const email = address('disabled');
    const setup = await newPage();
    await signInByLink(setup.page, email, 1);
    await setup.page.waitForURL(`${base}/dashboard`);
    db!.prepare('UPDATE users SET disabled = 1 WHERE email_key = ?').run(email.toLowerCase());

    const { context, page } = await newPage();
    await signInByLink(page, email, 2);
    // The login page may tidy `?error=` out of the address bar once shown: only the path is waited for.
    await page.waitForURL((url) => url.pathname === '/login');
    await page.getByText('This account is disabled.').waitFor();
    expect(await sessionCookieOf(context)).toBeUndefined();
    await page.goto('/dashboard');
    await page.waitForURL((url) => url.pathname === '/login');

    // By code (the form answers in JSON), for an account the operator added already disabled.
    const blocked = address('blocked');
    db!
      .prepare('INSERT INTO users (id, email, email_key, created_at, disabled) VALUES (?, ?, ?, ?, 1)')
      .run(`op-${run}`, blocked, blocked.toLowerCase(), Date.now());
    const byCode = await newPage();
    await requestEmail(byCode.page, blocked);
    const message = await mail!.waitForMail(blocked, 1);
    await byCode.page.getByLabel('One-time code').fill(message.code!);
    await byCode.page.getByRole('button', { name: 'Sign in with code' }).click();
    await byCode.page.getByText('This account is disabled.').waitFor();
    expect(await sessionCookieOf(byCode.context)).toBeUndefined();
    expect(usersOf(blocked)).toEqual([{ id: `op-${run}`, email: blocked, disabled: 1 }]);

    // The same URL in a browser that was not refused: the kit's own words, never the app's.
    const crafted = await newPage();
    await crafted.page.goto('/login?error=SIGN_IN_REFUSED');
    await crafted.page.getByText('This sign-in was not allowed.').waitFor();
    expect(await crafted.page.getByText('This account is disabled.').count()).toBe(0);
  });

  it('signing out ends the session on the server: replaying the old cookie is refused', async () => {
    const email = address('signout');
    const { context, page } = await newPage();
    await signInByLink(page, email, 1);
    await page.waitForURL(`${base}/dashboard`);
    const old = await sessionCookieOf(context);
    expect((await sessionJson(old)).authenticated).toBe(true);
    // Another session of the same user, in another browser, outlives this sign-out.
    const other = await newPage();
    await signInByLink(other.page, email, 2);
    await other.page.waitForURL(`${base}/dashboard`);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    expect(await sessionCookieOf(context)).toBeUndefined();

    expect(await sessionJson(old)).toEqual({ authenticated: false });
    const replay = await newPage();
    await replay.context.addCookies([{ name: 'sesame_session', value: old!, url: base, httpOnly: true, sameSite: 'Lax' }]);
    await replay.page.goto('/dashboard');
    await replay.page.waitForURL((url) => url.pathname === '/login');
    expect((await sessionJson(await sessionCookieOf(other.context))).authenticated).toBe(true);
    expect(db!.prepare('SELECT COUNT(*) AS n FROM revoked_sessions').get()).toEqual({ n: 1 });
  });

  it('a session used past half its life gets a fresh cookie from the proxy, same user, same id', async () => {
    const email = address('renew');
    const { context, page } = await newPage();
    await signInByLink(page, email, 1);
    await page.waitForURL(`${base}/dashboard`);
    const cookie = async () => (await context.cookies()).find((c) => c.name === 'sesame_session')!;
    const before = await cookie();
    await page.reload();
    expect((await cookie()).value).toBe(before.value);
    await new Promise((done) => setTimeout(done, (SESSION_MAX_AGE / 2 + 1) * 1000));
    // A Server Component cannot write cookies: this fresh one came from the proxy in front of it.
    await page.reload();
    const after = await cookie();
    expect(after.value).not.toBe(before.value);
    expect(after.expires).toBeGreaterThan(before.expires + SESSION_MAX_AGE / 2 - 2);
    const [user] = usersOf(email);
    expect(await page.getByTestId('user-id').textContent()).toBe(user!.id);
    expect(await sessionJson(after.value)).toMatchObject({ authenticated: true, claims: { userId: user!.id } });
  });
});
