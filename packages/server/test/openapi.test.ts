/**
 * /openapi.json against real answers: every route is driven (its success and its main refusals,
 * 503 UNAVAILABLE included) and each answer's status, media type, required headers and body must
 * be what the document says, the body checked by a JSON Schema validator. Every route hono has
 * must be documented and driven here, and the document may name no route hono lacks.
 */
import { randomBytes } from 'node:crypto';
import { ERROR_CODES } from '@sesame/core';
import { StoreUnavailableError } from '@sesame/storage';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TRANSPORT_ERROR_CODES, createApp } from '../src/index.js';
import { AdminBrowser, addAdmin } from './admin-helpers.js';
import { REDIRECT, harness, type Harness } from './helpers.js';

interface Answer {
  readonly description: string;
  readonly headers?: Record<string, { readonly $ref?: string; readonly required?: boolean }>;
  readonly content?: Record<string, { readonly schema?: object }>;
}
type Ref = { readonly $ref: string };
interface Doc {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, { readonly responses: Record<string, Answer | Ref> }>>;
  readonly components: {
    readonly schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
    readonly responses: Record<string, Answer>;
    readonly headers: Record<string, { readonly required?: boolean }>;
  };
}

// ajv-formats is CommonJS: its function is the default export's `default` under Node's ESM loader.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => void;

const DOC_ID = 'https://sesame.invalid/openapi.json';
const API = '/api/v1/passwordless/email';

const pointer = (...parts: string[]): string =>
  `#/${parts.map((part) => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;

/** The document path of a request path: a literal path first, then `{param}` templates, then `/*`. */
function templateOf(doc: Doc, path: string): string | undefined {
  const templates = Object.keys(doc.paths).sort(
    (a, b) => Number(a.includes('*')) - Number(b.includes('*')) || Number(a.includes('{')) - Number(b.includes('{')),
  );
  return templates.find((template) => {
    const pattern = template
      .replace(/[.]/g, '\\.')
      .replace(/\{\w+\}/g, '[^/]+')
      .replace(/\/\*$/, '/.+');
    return new RegExp(`^${pattern}$`).test(path);
  });
}

/** Checks answers against `doc`; remembers which operations it saw. */
function conformance(doc: Doc) {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  // The document itself is the root the schemas' `#/components/…` references resolve against.
  ajv.addVocabulary(['openapi', 'info', 'servers', 'paths', 'components']);
  ajv.addSchema({ ...doc, $id: DOC_ID });
  const validators = new Map<string, ValidateFunction>();
  const seen = new Set<string>();
  const resolve = <T extends object>(value: T | Ref): T => {
    if (!('$ref' in value)) return value;
    const [, , kind, name] = value.$ref.split('/');
    return (doc.components as unknown as Record<string, Record<string, T>>)[kind!]![name!]!;
  };

  return {
    seen,
    /** Checks one answer and gives its body (parsed JSON, or text). */
    check: async (method: string, url: string, res: Response): Promise<any> => {
      const path = new URL(url, 'http://sesame.invalid').pathname;
      const template = templateOf(doc, path);
      const verb = method.toLowerCase();
      const operation = template === undefined ? undefined : doc.paths[template]?.[verb];
      expect(operation, `${method} ${path} is documented`).toBeDefined();
      const text = await res.text();
      const documented = Object.keys(operation!.responses);
      const raw = operation!.responses[String(res.status)];
      expect(
        raw,
        `${method} ${template} documents ${res.status} (it documents ${documented.join(', ')}): ${text.slice(0, 300)}`,
      ).toBeDefined();
      const answer = resolve<Answer>(raw!);
      for (const [name, header] of Object.entries(answer.headers ?? {})) {
        if (resolve(header).required === true)
          expect(res.headers.get(name), `${method} ${template} ${res.status}: header ${name}`).not.toBeNull();
      }
      seen.add(`${verb} ${template}`);
      if (answer.content === undefined) {
        if (res.status === 204) expect(text).toBe('');
        return text;
      }
      const media = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
      expect(Object.keys(answer.content), `${method} ${template} ${res.status}: media type`).toContain(media);
      if (media !== 'application/json') return text;
      const body: unknown = JSON.parse(text);
      if (answer.content[media]?.schema === undefined) return body;
      const key = `${template} ${verb} ${res.status}`;
      let validate = validators.get(key);
      if (!validate) {
        const at = pointer('paths', template!, verb, 'responses', String(res.status), 'content', media, 'schema');
        validate =
          raw && '$ref' in raw
            ? ajv.compile({ $ref: `${DOC_ID}${pointer(...raw.$ref.slice(2).split('/'), 'content', media, 'schema')}` })
            : ajv.compile({ $ref: `${DOC_ID}${at}` });
        validators.set(key, validate);
      }
      expect(validate(body), `${method} ${template} ${res.status}: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`).toBe(true);
      return body;
    },
  };
}

let h: Harness;
let doc: Doc;
let answers: ReturnType<typeof conformance>;

beforeAll(async () => {
  h = await harness();
  const res = await h.request('/openapi.json');
  doc = (await res.clone().json()) as Doc;
  answers = conformance(doc);
  await answers.check('GET', '/openapi.json', res);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await h.close();
});

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

describe('/openapi.json', () => {
  it('names every stable error code in the error schema', () => {
    expect(doc.openapi).toBe('3.1.0');
    const error = doc.components.schemas.Error as { properties: { error: { properties: { code: { enum: string[] } } } } };
    expect([...error.properties.error.properties.code.enum].sort()).toEqual([...ERROR_CODES, ...TRANSPORT_ERROR_CODES].sort());
  });

  it('describes the OAuth token endpoint, health, readiness and metrics as they answer', async () => {
    const { check } = answers;
    const credentials = { grant_type: 'client_credentials', client_id: h.clientId, client_secret: h.clientSecret };
    await check('POST', '/oauth/token', await h.request('/oauth/token', form(credentials)));
    await check(
      'POST',
      '/oauth/token',
      await h.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(credentials),
      }),
    );
    const refused = await check('POST', '/oauth/token', await h.request('/oauth/token', form({ ...credentials, client_secret: 'wrong' })));
    expect(refused.error).toBe('invalid_client');
    await check('POST', '/oauth/token', await h.request('/oauth/token', form({ ...credentials, grant_type: 'password' })));
    await check('POST', '/oauth/token', await h.request('/oauth/token', form({ ...credentials, state: 'x'.repeat(70_000) })));
    vi.spyOn(h.store, 'findApiClient').mockRejectedValueOnce(new StoreUnavailableError('database down'));
    expect((await check('POST', '/oauth/token', await h.request('/oauth/token', form(credentials)))).error.code).toBe('UNAVAILABLE');

    await check('GET', '/healthz', await h.request('/healthz'));
    await check('GET', '/readyz', await h.request('/readyz'));
    vi.spyOn(h.store, 'ready').mockResolvedValueOnce(false);
    expect((await h.request('/readyz').then((res) => check('GET', '/readyz', res))).status).toBe('not_ready');
    await check('GET', '/metrics', await h.request('/metrics'));
    const guarded = createApp({
      store: h.store,
      secret: randomBytes(32),
      production: false,
      publicUrl: 'http://127.0.0.1:8080',
      devInbox: false,
      metricsToken: 'metrics-token-0123456789',
    });
    await check('GET', '/metrics', await guarded.app.request('/metrics'));
  });

  it('describes send, verify and resend with their refusals', async () => {
    const { check } = answers;
    const sent = await check(
      'POST',
      `${API}/send`,
      await h.api('send', { email: 'ada@example.com', magiclink_auth_uri: REDIRECT, state: 'xyz' }),
    );
    expect((await check('POST', `${API}/send`, await h.api('send', { email: 'not an address' }))).error.code).toBe('INVALID_ARGUMENT');
    const elsewhere = { email: 'ada@example.com', magiclink_auth_uri: 'https://elsewhere.example/' };
    expect((await check('POST', `${API}/send`, await h.api('send', elsewhere))).error.code).toBe('REDIRECT_URI_NOT_ALLOWED');
    await check('POST', `${API}/send`, await h.api('send', { email: 'ada@example.com' }, 'not-a-token'));
    await check('POST', `${API}/send`, await h.api('send', { email: 'ada@example.com', state: 'x'.repeat(70_000) }));
    const notJson = { method: 'POST', headers: { authorization: `Bearer ${await h.token()}`, 'content-type': 'text/plain' }, body: '{}' };
    expect((await check('POST', `${API}/send`, await h.request(`${API}/send`, notJson))).error.code).toBe('INVALID_ARGUMENT');

    const mail = await h.latestMail('ada@example.com');
    const wrong = mail.code === '000000' ? '111111' : '000000';
    const id = sent.auth_request_id as string;
    expect((await check('POST', `${API}/verify`, await h.api('verify', { code: wrong, auth_request_id: id }))).error.code).toBe(
      'INVALID_CREDENTIAL',
    );
    const verified = await check('POST', `${API}/verify`, await h.api('verify', { code: mail.code, auth_request_id: id }));
    expect(verified).toMatchObject({ email: 'ada@example.com', state: 'xyz' });
    expect((await check('POST', `${API}/verify`, await h.api('verify', { code: mail.code, auth_request_id: id }))).error.code).toBe(
      'ALREADY_USED',
    );
    await check('POST', `${API}/verify`, await h.api('verify', { code: '123456', auth_request_id: 'no-such-request' }));

    const other = await check('POST', `${API}/send`, await h.api('send', { email: 'bob@example.com', magiclink_auth_uri: REDIRECT }));
    await check('POST', `${API}/resend`, await h.api('resend', { auth_request_id: other.auth_request_id }));
    await check('POST', `${API}/resend`, await h.api('resend', { auth_request_id: 'no-such-request' }));

    let limited: any;
    for (let i = 0; i < 50 && limited === undefined; i += 1) {
      const res = await h.api('send', { email: 'carol@example.com', magiclink_auth_uri: REDIRECT });
      const body = await check('POST', `${API}/send`, res);
      if (res.status === 429) limited = body;
    }
    expect(limited?.error.code).toBe('SEND_LIMIT_EXCEEDED');

    vi.spyOn(h.store, 'findApiClient').mockRejectedValueOnce(new StoreUnavailableError('database down'));
    expect((await check('POST', `${API}/send`, await h.api('send', { email: 'ada@example.com' }))).error.code).toBe('UNAVAILABLE');
    vi.spyOn(h.store, 'findApiClient').mockRejectedValueOnce(new Error('a bug'));
    expect((await check('POST', `${API}/resend`, await h.api('resend', { auth_request_id: id }))).error.code).toBe('INTERNAL');
  });

  it('describes the admin API, the dev inbox and the dashboard as they answer', async () => {
    const { check } = answers;
    const browser = new AdminBrowser(h);
    const admin = (path: string, request: Parameters<AdminBrowser['fetch']>[1] = {}) =>
      browser.fetch(path, request).then((res) => check(request.method ?? (request.json === undefined ? 'GET' : 'POST'), path, res));

    await admin('/admin/api/csrf', { csrf: false });
    await admin('/admin/api/setup');
    await admin('/admin/api/session');
    await admin('/admin/api/session/start', { json: { email: 'admin@example.com' }, csrf: false });
    await admin('/admin/api/session/start', { json: { email: 'not an address' } });
    await addAdmin(h, 'admin@example.com');
    await admin('/admin/api/session/start', { json: { email: 'admin@example.com' } });
    await admin('/admin/api/session/verify', { json: { code: '00000000' } });
    const stranger = new AdminBrowser(h);
    const elsewhere = await check(
      'POST',
      '/admin/api/session/verify',
      await stranger.fetch('/admin/api/session/verify', { json: { code: '123456' } }),
    );
    expect(elsewhere.error.code).toBe('SAME_BROWSER_REQUIRED');
    const mail = await h.latestMail('admin@example.com');
    await admin('/admin/api/session/verify', { json: { code: mail.code } });
    await admin('/admin/api/session');

    const policy = await admin('/admin/api/policy');
    await admin('/admin/api/policy', { method: 'PUT', json: policy.policy });
    await admin('/admin/api/policy', { method: 'PUT', json: { ...policy.policy, expiry_seconds: 1 } });
    await admin('/admin/api/audit');
    await admin('/admin/api/audit?limit=1');
    await admin('/admin/api/audit?before=abc');

    const templates = await admin('/admin/api/templates');
    const { subject, html, text } = templates.templates.SIGNIN;
    await admin('/admin/api/templates/SIGNIN', { method: 'PUT', json: { subject, html, text, custom_variables: ['team'] } });
    await admin('/admin/api/templates/SIGNIN', { method: 'PUT', json: { subject: '', html, text } });
    await admin('/admin/api/templates/SIGNIN', { method: 'DELETE' });
    await admin('/admin/api/templates/NOPE', { method: 'DELETE' });
    await admin('/admin/api/templates/preview', { json: { template: 'SIGNUP', subject, html, text, brand: { app_name: 'Acme' } } });
    await admin('/admin/api/templates/preview', { json: { template: 'SIGNUP', subject, html: '{{nope}}', text } });
    await admin('/admin/api/templates/test-email', { json: { template: 'SIGNIN' } });

    await admin('/admin/api/brand');
    await admin('/admin/api/brand', { method: 'PUT', json: { app_name: 'Acme', logo_url: 'https://acme.example/logo.png' } });
    await admin('/admin/api/brand', { method: 'PUT', json: { accent_color: 'red' } });
    await admin('/admin/api/brand', { method: 'DELETE' });

    await admin('/admin/api/clients');
    const created = await admin('/admin/api/clients', { json: { name: 'Acme web', redirect_uris: [REDIRECT], sends_per_minute: 10 } });
    await admin('/admin/api/clients', { json: { name: '' } });
    const id = encodeURIComponent(created.client.id as string);
    await admin(`/admin/api/clients/${id}/rotate`, { method: 'POST' });
    await admin('/admin/api/clients/skc_none/rotate', { method: 'POST' });
    await admin(`/admin/api/clients/${id}/send-limit`, { method: 'PUT', json: { sends_per_minute: null } });
    await admin(`/admin/api/clients/${id}/send-limit`, { method: 'PUT', json: { sends_per_minute: 0 } });
    await admin('/admin/api/clients/skc_none/send-limit', { method: 'PUT', json: { sends_per_minute: 5 } });
    await admin(`/admin/api/clients/${id}/revoke`, { method: 'POST' });
    await admin('/admin/api/clients/skc_none/revoke', { method: 'POST' });
    vi.spyOn(h.store, 'listApiClients').mockRejectedValueOnce(new StoreUnavailableError('database down'));
    expect((await admin('/admin/api/clients')).error.code).toBe('UNAVAILABLE');
    vi.spyOn(h.store, 'listApiClients').mockRejectedValueOnce(new Error('a bug'));
    expect((await admin('/admin/api/clients')).error.code).toBe('INTERNAL');

    const activity = await admin('/admin/api/activity?limit=5');
    expect(activity.auth_requests.length).toBeGreaterThan(0);
    await admin('/admin/api/activity?status=pending&email=ada%40example.com');
    await admin('/admin/api/activity?status=nope');

    const inbox = await admin('/admin/api/dev-inbox');
    await admin(`/admin/api/dev-inbox/${encodeURIComponent(inbox.messages[0].id as string)}`);
    await admin('/admin/api/dev-inbox/none');
    await admin('/dev/inbox');
    await admin('/admin');
    await admin('/admin/policy');
    await admin('/admin/assets/none.js');

    await admin('/admin/api/session/logout', { method: 'POST' });
    await admin('/admin/api/session');
  });

  it('covers every route hono has, and documents no route hono lacks', () => {
    const routes = h.sesame.app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => ({ method: route.method.toLowerCase(), path: route.path.replace(/:(\w+)/g, '{$1}') }));
    expect(routes.length).toBeGreaterThan(20);
    for (const route of routes) {
      expect(doc.paths[route.path]?.[route.method], `${route.method} ${route.path} is documented`).toBeDefined();
      expect(answers.seen.has(`${route.method} ${route.path}`), `${route.method} ${route.path} was driven`).toBe(true);
    }
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const served = routes.some((route) => {
          const pattern = route.path.replace(/\{\w+\}/g, '[^/]+').replace(/\/\*$/, '(?:/.*)?');
          return route.method === method && new RegExp(`^${pattern}$`).test(path.replace(/\{\w+\}/g, 'x'));
        });
        expect(served, `${method} ${path} is a route`).toBe(true);
      }
    }
  });

  it('refuses an answer the document does not describe', async () => {
    const drifted = structuredClone(doc);
    delete drifted.paths['/healthz']!.get!.responses['200'];
    await expect(conformance(drifted).check('GET', '/healthz', await h.request('/healthz'))).rejects.toThrow(/documents 200/);

    const stricter = structuredClone(doc);
    stricter.components.schemas.Health!.required = ['status', 'uptime'];
    await expect(conformance(stricter).check('GET', '/healthz', await h.request('/healthz'))).rejects.toThrow(/uptime/);

    const narrower = structuredClone(doc);
    const sendResponse = narrower.components.schemas.SendResponse!;
    delete sendResponse.properties!.expires_in;
    sendResponse.required = sendResponse.required!.filter((name) => name !== 'expires_in');
    const sent = await h.api('send', { email: 'dave@example.com', magiclink_auth_uri: REDIRECT });
    await expect(conformance(narrower).check('POST', `${API}/send`, sent)).rejects.toThrow(/additional/);
  });
});
