import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDevInboxTransport, createOutboxWorker, settingsContentSource, silentLogger, type OutboxWorker } from '@sesame/email';
import { BACKENDS, REDIRECT, stopPostgres, type Harness } from './helpers.js';
import { AdminBrowser, signedInAdmin } from './admin-helpers.js';

let h: Harness;
let browser: AdminBrowser;
/** A worker as `sesame start` runs it: brand and templates from the settings. */
let worker: OutboxWorker;
afterAll(stopPostgres);

const ADMIN = 'root@example.com';

const CUSTOM = {
  subject: 'Your {{app_name}} key',
  html: '<p>Hello {{email}}! MARKER-HTML {{#company}}from {{company}}{{/company}} code <b>{{otp}}</b>{{#link}} <a href="{{link}}">open</a>{{/link}}</p>',
  text: 'MARKER-TEXT code {{otp}} {{link}} expires {{expiry_time_relative}}',
};

async function deliveredTo(to: string) {
  await worker.runOnce();
  const messages = await h.store.listDevInbox({ limit: 50 });
  const message = messages.find((m) => m.to === to);
  if (!message) throw new Error(`no mail to ${to}`);
  return message;
}

describe.each(BACKENDS)('%s', (backend) => {
  beforeEach(async () => {
    ({ h, browser } = await signedInAdmin(backend, ADMIN));
    worker = createOutboxWorker({
      store: h.store,
      sealer: h.sesame.sealer,
      transport: createDevInboxTransport({ store: h.store, clock: h.clock }),
      content: settingsContentSource(h.store),
      clock: h.clock,
      logger: silentLogger,
      ownerId: 'content-worker',
    });
  });
  afterEach(async () => {
    await worker.stop();
    await h.close();
  });

  it('lists the defaults and the built-in variables', async () => {
    const answer = await browser.json<{ templates: Record<string, { subject: string; is_default: boolean; custom_variables: string[] }>; variables: string[] }>(
      '/admin/api/templates',
    );
    expect(Object.keys(answer.templates)).toEqual(['SIGNIN', 'SIGNUP']);
    expect(answer.templates.SIGNIN).toMatchObject({ is_default: true, custom_variables: [] });
    expect(answer.variables).toEqual(expect.arrayContaining(['otp', 'link', 'email', 'app_name', 'expiry_time_relative', 'expire_time']));
  });

  it('a saved template shows in the preview and in the email of a real send; reset brings the default back', async () => {
    const preview = await browser.json<{ subject: string; html: string; text: string }>('/admin/api/templates/preview', {
      json: { template: 'SIGNIN', ...CUSTOM, custom_variables: ['company'], brand: { app_name: 'Preview Co' } },
    });
    expect(preview.subject).toBe('Your Preview Co key');
    expect(preview.html).toContain('MARKER-HTML from [company]');
    expect(preview.html).toContain(`Hello ${ADMIN}!`);
    expect(preview.text).toContain('MARKER-TEXT code 123456');
    expect(preview.text).toContain('link_token=preview-only');
    // Nothing was saved by the preview.
    expect((await browser.json<{ templates: { SIGNIN: { is_default: boolean } } }>('/admin/api/templates')).templates.SIGNIN.is_default).toBe(true);

    const saved = await browser.json<{ is_default: boolean; custom_variables: string[] }>('/admin/api/templates/SIGNIN', {
      method: 'PUT',
      json: { ...CUSTOM, custom_variables: ['company'] },
    });
    expect(saved).toMatchObject({ template: 'SIGNIN', is_default: false, custom_variables: ['company'] });
    const listed = await browser.json<{ templates: { SIGNIN: object; SIGNUP: { is_default: boolean } } }>('/admin/api/templates');
    expect(listed.templates.SIGNIN).toEqual({ ...CUSTOM, custom_variables: ['company'], is_default: false });
    expect(listed.templates.SIGNUP.is_default).toBe(true);

    const res = await h.api('send', { email: 'ada@example.com', magiclink_auth_uri: REDIRECT, template_variables: { company: 'Acme' } });
    expect(res.status).toBe(200);
    const mail = await deliveredTo('ada@example.com');
    expect(mail.subject).toBe('Your Sesame key');
    expect(mail.html).toContain('MARKER-HTML from Acme code <b>');
    expect(mail.text).toMatch(/^MARKER-TEXT code \d{6} https:\/\/app\.example\.com\/auth\/verify\?link_token=/);

    await browser.json('/admin/api/templates/SIGNIN', { method: 'DELETE' });
    expect((await h.api('send', { email: 'bob@example.com', magiclink_auth_uri: REDIRECT })).status).toBe(200);
    expect((await deliveredTo('bob@example.com')).text).not.toContain('MARKER');

    const audit = await browser.json<{ entries: { action: string; after: unknown }[] }>('/admin/api/audit');
    expect(audit.entries.map((e) => e.action)).toEqual(['template.reset', 'template.update']);
    expect(audit.entries[1]!.after).toMatchObject({ template: 'SIGNIN', subject: CUSTOM.subject });
  });

  it('refuses an unknown variable with a message naming the field and the variable, and saves nothing', async () => {
    const res = await browser.fetch('/admin/api/templates/SIGNIN', { method: 'PUT', json: { ...CUSTOM, html: '<p>Hi {{nmae}}, {{otp}}</p>' } });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string; field_violations: { field: string; description: string }[] } };
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('html: unknown variable {{nmae}}');
    expect(error.field_violations).toEqual([
      { field: 'html', description: 'unknown variable {{nmae}}' },
    ]);
    const undeclared = await browser.fetch('/admin/api/templates/preview', { json: { template: 'SIGNIN', ...CUSTOM } });
    expect(undeclared.status).toBe(400);
    expect(((await undeclared.json()) as { error: { message: string } }).error.message).toContain('html: unknown variable {{company}}');
    const broken = await browser.fetch('/admin/api/templates/SIGNUP', { method: 'PUT', json: { ...CUSTOM, custom_variables: ['company'], text: 'code {{#otp}}{{otp}}' } });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { field_violations: { field: string; description: string }[] } }).error.field_violations).toEqual([
      { field: 'text', description: '{{#otp}} is never closed' },
    ]);
    const noCode = await browser.fetch('/admin/api/templates/SIGNIN', { method: 'PUT', json: { ...CUSTOM, custom_variables: ['company'], text: 'Hello {{email}}' } });
    expect(noCode.status).toBe(400);
    const badType = await browser.fetch('/admin/api/templates/LOGIN', { method: 'PUT', json: CUSTOM });
    expect(badType.status).toBe(400);
    expect((await browser.json<{ templates: { SIGNIN: { is_default: boolean } } }>('/admin/api/templates')).templates.SIGNIN.is_default).toBe(true);
    expect((await browser.json<{ entries: unknown[] }>('/admin/api/audit')).entries).toEqual([]);
  });

  it('brand: partial update applies to the next email, bad fields are named, delete resets', async () => {
    expect(await browser.json('/admin/api/brand')).toEqual({
      brand: { app_name: 'Sesame', logo_url: null, accent_color: '#4f46e5', from_name: null },
      is_default: true,
    });
    const saved = await browser.json<{ brand: Record<string, unknown> }>('/admin/api/brand', { method: 'PUT', json: { app_name: 'Acme', accent_color: '#F00' } });
    expect(saved).toEqual({ brand: { app_name: 'Acme', logo_url: null, accent_color: '#ff0000', from_name: null }, is_default: false });
    const bad = await browser.fetch('/admin/api/brand', { method: 'PUT', json: { accent_color: 'red;', logo_url: 'javascript:x' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field_violations: { field: string }[] } }).error.field_violations.map((v) => v.field).sort()).toEqual(['accent_color', 'logo_url']);

    expect((await h.api('send', { email: 'ada@example.com', magiclink_auth_uri: REDIRECT })).status).toBe(200);
    const mail = await deliveredTo('ada@example.com');
    expect(mail.subject).toContain('Acme');
    expect(mail.html).toContain('#ff0000');
    expect(mail.from).toContain('Acme');

    expect(await browser.json('/admin/api/brand', { method: 'DELETE' })).toMatchObject({ is_default: true, brand: { app_name: 'Sesame' } });
    const audit = await browser.json<{ entries: { action: string }[] }>('/admin/api/audit');
    expect(audit.entries.map((e) => e.action)).toEqual(['brand.reset', 'brand.update']);
  });

  it('test-email sends the saved template to the signed-in admin through the outbox', async () => {
    await browser.json('/admin/api/templates/SIGNUP', { method: 'PUT', json: { ...CUSTOM, custom_variables: ['company'] } });
    h.clock.advance(60_000);
    expect(await browser.json('/admin/api/templates/test-email', { json: { template: 'SIGNUP' } }, 202)).toEqual({ status: 'queued' });
    const messages = async () => (await h.store.listDevInbox({ limit: 50 })).filter((m) => m.to === ADMIN);
    const before = (await messages()).length;
    await worker.runOnce();
    const after = await messages();
    expect(after.length).toBe(before + 1);
    expect(after[0]!.text).toContain('MARKER-TEXT');
    const activity = await browser.json<{ auth_requests: { template: string; delivery: string }[] }>(`/admin/api/activity?email=${encodeURIComponent(ADMIN)}`);
    expect(activity.auth_requests[0]).toMatchObject({ template: 'SIGNUP', delivery: 'sent' });
  });
});
