import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutboxWorker } from '@sesame/email';
import type { SmtpCapture } from '@sesame/testkit';
import { BACKENDS, REDIRECT, stopPostgres, type Harness } from './helpers.js';
import { AdminBrowser, freshAdminEachTest, startSmtpOutbox, type SmtpOutbox } from './admin-helpers.js';

let h: Harness;
let browser: AdminBrowser;
let outbox: SmtpOutbox;
let smtp: SmtpCapture;
let worker: OutboxWorker;
afterAll(stopPostgres);

const ADMIN = 'root@example.com';

interface Activity {
  ref: string;
  email_masked: string;
  type: string;
  template: string;
  status: string;
  created_at: string;
  expires_at: string;
  consumed_at: string | null;
  attempts: number;
  sends: number;
  delivery: string | null;
  timeline: { at: string; kind: string; attempt: number | null; detail: string | null }[];
}

interface Page {
  auth_requests: Activity[];
  next_cursor: string | null;
}

async function send(email: string): Promise<string> {
  const res = await h.api('send', { email, magiclink_auth_uri: REDIRECT });
  expect(res.status).toBe(200);
  return ((await res.json()) as { auth_request_id: string }).auth_request_id;
}

describe.each(BACKENDS)('%s', (backend) => {
  freshAdminEachTest(backend, ADMIN, (fixture) => ({ h, browser } = fixture), true);
  beforeEach(async () => {
    // A real SMTP server that refuses the first message with 451 (greylisting), then accepts.
    outbox = await startSmtpOutbox(h, 1);
    ({ smtp, worker } = outbox);
  });
  afterEach(async () => {
    await outbox.close();
  });

  it('lists a failed-then-sent delivery with the SMTP replies, masked, by ref and never by id', async () => {
    const id = await send('Jane.Doe@Example.com');
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
    const queued = await browser.json<Page>('/admin/api/activity?email=jane.doe@example.com');
    expect(queued.auth_requests[0]!.delivery).toBe('queued');
    h.clock.advance(10_000);
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    expect(smtp.mails).toHaveLength(1);
    expect(JSON.stringify(smtp.mails[0]!.to).toLowerCase()).toContain('jane.doe@example.com');

    const res = await browser.fetch('/admin/api/activity?email=JANE.DOE@example.com');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    expect(text).not.toContain(id);
    const page = JSON.parse(text) as Page;
    expect(page.next_cursor).toBeNull();
    expect(page.auth_requests).toHaveLength(1);
    const item = page.auth_requests[0]!;
    expect(item).toMatchObject({
      email_masked: 'J***@Example.com',
      type: 'LINK_OTP',
      template: 'SIGNIN',
      status: 'pending',
      consumed_at: null,
      attempts: 0,
      sends: 1,
      delivery: 'sent',
    });
    expect(item.ref).toMatch(/^[A-Za-z0-9_-]{10}$/);
    expect(id).not.toContain(item.ref);
    expect(item.timeline.map((event) => [event.kind, event.attempt])).toEqual([
      ['queued', null],
      ['attempt', 1],
      ['retry_scheduled', 1],
      ['attempt', 2],
      ['sent', 2],
    ]);
    expect(item.timeline[2]!.detail).toMatch(/451/);
    expect(item.timeline[2]!.detail).toMatch(/Try again later/);
    expect(item.timeline[4]!.detail).toMatch(/^250/);
    expect(item.timeline[4]!.at).toBe(new Date(h.clock.now()).toISOString());
  });

  it('filters by status and pages newest first with an opaque cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1_000);
      ids.push(await send(`user${i}@example.com`));
    }
    // Verify the newest, lock nothing: statuses pending and verified.
    await worker.runOnce();
    h.clock.advance(10_000);
    await worker.runOnce();
    const mail = await smtp.waitForMail('user4@example.com');
    const code = /\b(\d{6})\b/.exec(mail.text ?? '')![1]!;
    expect((await h.api('verify', { code, auth_request_id: ids[4] })).status).toBe(200);

    const first = await browser.json<Page>('/admin/api/activity?limit=2');
    // The admin's own sign-in is the oldest request.
    expect(first.auth_requests.map((r) => r.email_masked)).toEqual(['u***@example.com', 'u***@example.com']);
    expect(first.auth_requests[0]!.status).toBe('verified');
    expect(first.auth_requests[0]!.consumed_at).toBe(new Date(h.clock.now()).toISOString());
    expect(first.next_cursor).not.toBeNull();
    for (const id of ids) expect(first.next_cursor).not.toContain(id);
    const seen: Activity[] = [...first.auth_requests];
    let cursor = first.next_cursor;
    while (cursor !== null) {
      const page = await browser.json<Page>(`/admin/api/activity?limit=2&cursor=${encodeURIComponent(cursor)}`);
      seen.push(...page.auth_requests);
      cursor = page.next_cursor;
    }
    expect(seen).toHaveLength(6);
    expect(seen.at(-1)!.email_masked).toBe('r***@example.com');
    const created = seen.map((r) => Date.parse(r.created_at));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    expect(new Set(seen.map((r) => r.ref)).size).toBe(6);

    expect((await browser.json<Page>('/admin/api/activity?status=verified')).auth_requests).toHaveLength(2);
    expect((await browser.json<Page>('/admin/api/activity?status=pending')).auth_requests).toHaveLength(4);
    expect((await browser.json<Page>('/admin/api/activity?status=expired')).auth_requests).toHaveLength(0);
    h.clock.advance(600_000);
    expect((await browser.json<Page>('/admin/api/activity?status=expired')).auth_requests).toHaveLength(4);
    expect((await browser.json<Page>('/admin/api/activity?status=pending')).auth_requests).toHaveLength(0);
    for (const bad of ['status=done', 'cursor=abc', 'limit=101', 'limit=0', 'email=not-an-email']) {
      const res = await browser.fetch(`/admin/api/activity?${bad}`);
      expect(res.status, bad).toBe(400);
    }
  });
});
