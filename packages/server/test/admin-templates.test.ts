import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DASHBOARD_CLIENT_ID,
  TEMPLATES_SETTING_KEY,
  createDevInboxTransport,
  createOutboxWorker,
  settingsContentSource,
  silentLogger,
  type OutboxWorker,
} from '@sesame/email';
import { ADMIN_CLIENT_ID } from '../src/admin/index.js';
import { cliMain } from '../src/index.js';
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

type Violations = { error: { code: string; field_violations: { field: string; description: string }[] } };

/** PUTs a template; answers the status and the fields named by a refusal. */
async function save(type: string, template: object): Promise<{ status: number; fields: string[] }> {
  const res = await browser.fetch(`/admin/api/templates/${type}`, { method: 'PUT', json: template });
  if (res.status === 200) return { status: 200, fields: [] };
  const body = (await res.json()) as Violations;
  expect(body.error.code).toBe('INVALID_ARGUMENT');
  return { status: res.status, fields: [...new Set(body.error.field_violations.map((v) => v.field))] };
}

async function setPasswordlessType(type: string): Promise<Response> {
  const { policy } = await browser.json<{ policy: Record<string, unknown> }>('/admin/api/policy');
  return browser.fetch('/admin/api/policy', { method: 'PUT', json: { ...policy, passwordless_type: type } });
}

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
    const answer = await browser.json<{
      templates: Record<string, { subject: string; is_default: boolean; custom_variables: string[] }>;
      variables: string[];
    }>('/admin/api/templates');
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
    expect(
      (await browser.json<{ templates: { SIGNIN: { is_default: boolean } } }>('/admin/api/templates')).templates.SIGNIN.is_default,
    ).toBe(true);

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
    const res = await browser.fetch('/admin/api/templates/SIGNIN', {
      method: 'PUT',
      json: { ...CUSTOM, html: '<p>Hi {{nmae}}, {{otp}}</p>' },
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as {
      error: { code: string; message: string; field_violations: { field: string; description: string }[] };
    };
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('html: unknown variable {{nmae}}');
    expect(error.field_violations).toEqual([{ field: 'html', description: 'unknown variable {{nmae}}' }]);
    const undeclared = await browser.fetch('/admin/api/templates/preview', { json: { template: 'SIGNIN', ...CUSTOM } });
    expect(undeclared.status).toBe(400);
    expect(((await undeclared.json()) as { error: { message: string } }).error.message).toContain('html: unknown variable {{company}}');
    const broken = await browser.fetch('/admin/api/templates/SIGNUP', {
      method: 'PUT',
      json: { ...CUSTOM, custom_variables: ['company'], text: 'code {{#otp}}{{otp}}' },
    });
    expect(broken.status).toBe(400);
    expect(
      ((await broken.json()) as { error: { field_violations: { field: string; description: string }[] } }).error.field_violations,
    ).toEqual([{ field: 'text', description: '{{#otp}} is never closed' }]);
    const noCode = await browser.fetch('/admin/api/templates/SIGNIN', {
      method: 'PUT',
      json: { ...CUSTOM, custom_variables: ['company'], text: 'Hello {{email}}' },
    });
    expect(noCode.status).toBe(400);
    const badType = await browser.fetch('/admin/api/templates/LOGIN', { method: 'PUT', json: CUSTOM });
    expect(badType.status).toBe(400);
    expect(
      (await browser.json<{ templates: { SIGNIN: { is_default: boolean } } }>('/admin/api/templates')).templates.SIGNIN.is_default,
    ).toBe(true);
    expect((await browser.json<{ entries: unknown[] }>('/admin/api/audit')).entries).toEqual([]);
  });

  it('refuses, by rendering it, a template that would not show the code and the link in every email, naming the part', async () => {
    const good = {
      subject: 'Sign in',
      html: '<p>{{otp}}</p><p><a href="{{link}}">Sign in</a></p>',
      text: 'Code {{otp}} or {{link}}',
      custom_variables: ['company'],
    };
    const refused: readonly [Partial<typeof good>, string][] = [
      [{ html: '<p>{{^otp}}{{otp}}{{/otp}}</p><a href="{{link}}">go</a>' }, 'html'],
      [{ text: '{{^otp}}{{otp}}{{/otp}} {{link}}' }, 'text'],
      [{ html: '{{#company}}<p>{{otp}}</p>{{/company}}<a href="{{link}}">go</a>' }, 'html'],
      [{ html: '{{^company}}<p>{{otp}}</p>{{/company}}<a href="{{link}}">go</a>' }, 'html'],
      [{ html: '{{#logo_url}}<p>{{otp}}</p>{{/logo_url}}<a href="{{link}}">go</a>' }, 'html'],
      [{ html: '<p>{{! otp}}</p><a href="{{link}}">go</a>' }, 'html'],
      [{ html: '<p>{{> otp}}</p><a href="{{link}}">go</a>' }, 'html'],
      [{ html: '{{=<% %>=}}<p><%otp%></p><a href="{{link}}">go</a>' }, 'html'],
      [{ html: '<p>{{{otp}}}</p><a href="{{link}}">go</a>' }, 'html'],
      [{ html: '<!-- {{otp}} --><a href="{{link}}">go</a>' }, 'html'],
      [{ html: '<div style="display:none">{{otp}}</div><a href="{{link}}">go</a>' }, 'html'],
      [{ html: '<p hidden>{{otp}}</p><a href="{{link}}">go</a>' }, 'html'],
      [{ html: '<script>var c = "{{otp}}"</script><a href="{{link}}">go</a>' }, 'html'],
      [{ html: '<p>{{otp}}</p><a href="{{link}}"></a>' }, 'html'],
      [{ html: '<p>{{otp}}</p>' }, 'html'],
      [{ text: 'Code {{otp}}' }, 'text'],
    ];
    for (const [change, field] of refused) {
      expect(await save('SIGNIN', { ...good, ...change }), JSON.stringify(change)).toEqual({ status: 400, fields: [field] });
    }
    const preview = await browser.fetch('/admin/api/templates/preview', {
      json: { template: 'SIGNUP', ...good, text: '{{^otp}}{{otp}}{{/otp}}{{link}}' },
    });
    expect(preview.status).toBe(400);
    expect(
      (await browser.json<{ templates: { SIGNIN: { is_default: boolean } } }>('/admin/api/templates')).templates.SIGNIN.is_default,
    ).toBe(true);
    expect((await browser.json<{ entries: unknown[] }>('/admin/api/audit')).entries).toEqual([]);
    expect(await save('SIGNIN', good)).toEqual({ status: 200, fields: [] });
  });

  it('refuses custom variables in URL, style, handler and unquoted attributes; allows them in text and plain quoted attributes', async () => {
    const base = { subject: 'Hi', text: 'Code {{otp}} {{link}}', custom_variables: ['url', 'note'] };
    const html = (extra: string) => `<p>{{otp}}</p><p><a href="{{link}}">Sign in</a></p>${extra}`;
    const refused = [
      '<a href={{url}}>go</a>',
      '<a href="{{url}}">go</a>',
      "<img src='{{note}}'>",
      '<div onclick="{{note}}">x</div>',
      '<p style="{{note}}">x</p>',
      '<A HREF="{{url}}">go</A>',
      '<a title="t"\nhref={{note}}>go</a>',
      '<a href="https://ok.example/{{note}}">go</a>',
      '<img srcset="{{note}} 2x">',
    ];
    for (const extra of refused)
      expect(await save('SIGNUP', { ...base, html: html(extra) }), extra).toEqual({ status: 400, fields: ['html'] });
    for (const extra of [
      '<p>{{note}} and {{url}}</p>',
      '<p title="{{note}}">x</p>',
      '<img alt="{{note}}" src="https://cdn.example/l.png">',
    ]) {
      expect(await save('SIGNUP', { ...base, html: html(extra) }), extra).toEqual({ status: 200, fields: [] });
    }
    // The attack value stays inside the quoted alt, escaped.
    expect(
      (
        await h.api('send', {
          email: 'eve@example.com',
          magiclink_auth_uri: REDIRECT,
          template: 'SIGNUP',
          template_variables: { note: '"><a href="javascript:alert(1)" onmouseover=alert(2)>' },
        })
      ).status,
    ).toBe(200);
    expect((await deliveredTo('eve@example.com')).html).toContain(
      '<img alt="&quot;&gt;&lt;a href=&quot;javascript:alert(1)&quot; onmouseover=alert(2)&gt;" src="https://cdn.example/l.png">',
    );
  });

  it('a send stores only the template variables its template uses', async () => {
    await browser.json('/admin/api/templates/SIGNIN', { method: 'PUT', json: { ...CUSTOM, custom_variables: ['company'] } });
    const res = await h.api('send', {
      email: 'ada@example.com',
      magiclink_auth_uri: REDIRECT,
      template_variables: { company: 'Acme', unused: 'x'.repeat(200) },
    });
    const { auth_request_id: id } = (await res.json()) as { auth_request_id: string };
    expect((await h.store.findAuthRequest(id, h.clock.now()))?.templateVariables).toEqual({ company: 'Acme' });
  });

  it('refuses a passwordless type that a saved template would not carry, until the template is edited or reset', async () => {
    expect((await setPasswordlessType('OTP')).status).toBe(200);
    expect(await save('SIGNIN', { subject: 'Code', html: '<p>{{otp}}</p>', text: 'Code {{otp}}' })).toEqual({ status: 200, fields: [] });
    for (const type of ['LINK', 'LINK_OTP']) {
      const res = await setPasswordlessType(type);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as Violations;
      expect(error.field_violations.map((v) => v.field)).toContain('passwordless_type');
      expect(error.field_violations[0]!.description).toContain('SIGNIN');
    }
    await browser.json('/admin/api/templates/SIGNIN', { method: 'DELETE' });
    expect((await setPasswordlessType('LINK')).status).toBe(200);
  });

  it('admins sign in with the built-in template whatever SIGNIN template is saved', async () => {
    // The worker knows the dashboard's sign-in emails by this caller id.
    expect(DASHBOARD_CLIENT_ID).toBe(ADMIN_CLIENT_ID);
    // As an older save could have left it: a template that renders no code at all.
    await h.store.putSetting(
      TEMPLATES_SETTING_KEY,
      JSON.stringify({
        SIGNIN: { subject: 'MARKED', html: '<p>MARKED {{^otp}}{{otp}}{{/otp}}</p>', text: 'MARKED {{^otp}}{{otp}}{{/otp}}' },
      }),
      h.clock.now(),
    );
    for (const template of ['locks out', 'shows the code']) {
      if (template === 'shows the code')
        await browser.json('/admin/api/templates/SIGNIN', {
          method: 'PUT',
          json: { subject: 'MARKED', html: '<p>MARKED {{otp}} <a href="{{link}}">go</a></p>', text: 'MARKED {{otp}} {{link}}' },
        });
      h.clock.advance(120_000);
      const other = new AdminBrowser(h);
      await other.json('/admin/api/session/start', { json: { email: ADMIN } }, 202);
      const mail = await deliveredTo(ADMIN);
      expect(mail.subject, template).not.toContain('MARKED');
      const code = /\b(\d{6})\b/.exec(mail.text)?.[1];
      expect(code, template).toBeDefined();
      expect(await other.json('/admin/api/session/verify', { json: { code } })).toMatchObject({ email: ADMIN });
    }
  });

  it('sesame templates reset removes a saved template with an audit entry by the cli', async () => {
    await browser.json('/admin/api/templates/SIGNIN', { method: 'PUT', json: { ...CUSTOM, custom_variables: ['company'] } });
    const dataDir = mkdtempSync(join(tmpdir(), 'sesame-templates-cli-'));
    const cli = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await cliMain(argv, {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        env: { SESAME_DATA_DIR: dataDir, SESAME_DATABASE_URL: h.databaseUrl },
      });
      return { code, stdout, stderr };
    };
    try {
      expect(await cli('templates', 'reset', 'SIGNIN')).toMatchObject({
        code: 0,
        stdout: 'Removed the saved SIGNIN template; the built-in one applies from the next email.\n',
      });
      expect(
        (await browser.json<{ templates: { SIGNIN: { is_default: boolean } } }>('/admin/api/templates')).templates.SIGNIN.is_default,
      ).toBe(true);
      const audit = await browser.json<{ entries: { action: string; actor: string }[] }>('/admin/api/audit');
      expect(audit.entries[0]).toMatchObject({ action: 'template.reset', actor: 'cli' });
      expect(await cli('templates', 'reset', '--json')).toMatchObject({
        code: 0,
        stdout: '{"reset":[],"unchanged":["SIGNIN","SIGNUP"]}\n',
      });
      expect((await cli('templates', 'reset', 'LOGIN')).code).toBe(2);
      expect((await cli('templates', 'wipe')).code).toBe(2);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('brand: partial update applies to the next email, bad fields are named, delete resets', async () => {
    expect(await browser.json('/admin/api/brand')).toEqual({
      brand: { app_name: 'Sesame', logo_url: null, accent_color: '#4f46e5', from_name: null },
      is_default: true,
    });
    const saved = await browser.json<{ brand: Record<string, unknown> }>('/admin/api/brand', {
      method: 'PUT',
      json: { app_name: 'Acme', accent_color: '#F00' },
    });
    expect(saved).toEqual({ brand: { app_name: 'Acme', logo_url: null, accent_color: '#ff0000', from_name: null }, is_default: false });
    const bad = await browser.fetch('/admin/api/brand', { method: 'PUT', json: { accent_color: 'red;', logo_url: 'javascript:x' } });
    expect(bad.status).toBe(400);
    expect(
      ((await bad.json()) as { error: { field_violations: { field: string }[] } }).error.field_violations.map((v) => v.field).sort(),
    ).toEqual(['accent_color', 'logo_url']);

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
    const activity = await browser.json<{ auth_requests: { template: string; delivery: string }[] }>(
      `/admin/api/activity?email=${encodeURIComponent(ADMIN)}`,
    );
    expect(activity.auth_requests[0]).toMatchObject({ template: 'SIGNUP', delivery: 'sent' });
  });
});
