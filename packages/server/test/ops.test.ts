import { afterEach, describe, expect, it } from 'vitest';
import { REDIRECT, errorOf, harness, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('health, metrics, OpenAPI', () => {
  it('answers /healthz and /readyz, and /readyz turns 503 when the store is gone', async () => {
    h = await harness();
    expect(await (await h.request('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await h.request('/readyz');
    expect(ready.status).toBe(200);
    await h.store.close();
    const gone = await h.request('/readyz');
    expect(gone.status).toBe(503);
    expect(gone.headers.get('x-request-id')).toBeTruthy();
  });

  it('counts requests per route and status, sends, verifies, limit hits, outbox depth and the age of its oldest email', async () => {
    h = await harness();
    const sent = (await (await h.api('send', { email: 'm@example.com', magiclink_auth_uri: REDIRECT })).json()) as {
      auth_request_id: string;
    };
    await h.api('send', { email: 'm@example.com', magiclink_auth_uri: REDIRECT });
    await h.api('send', { email: 'm@example.com', magiclink_auth_uri: REDIRECT });
    await h.api('verify', { code: '000000', auth_request_id: sent.auth_request_id });
    const res = await h.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/sesame_http_requests_total\{method="POST",route="\/api\/v1\/passwordless\/email\/send",status="200"\} 2/);
    expect(text).toMatch(/sesame_http_requests_total\{method="POST",route="\/api\/v1\/passwordless\/email\/send",status="429"\} 1/);
    expect(text).toMatch(/sesame_http_request_duration_seconds_count\{method="POST",route="\/oauth\/token",status="200"\} 1/);
    expect(text).toMatch(/sesame_http_request_duration_seconds_bucket\{le="0.05",method="POST",route="\/oauth\/token",status="200"\} [01]/);
    expect(text).toMatch(/sesame_sends_total\{kind="send",outcome="ok"\} 2/);
    expect(text).toMatch(/sesame_limit_hits_total\{limit="send_limit"\} 1/);
    expect(text).toMatch(/sesame_verifies_total\{method="code",outcome="(INVALID_CREDENTIAL|INVALID_ARGUMENT)"\} 1/);
    expect(text).toMatch(/sesame_outbox_depth 2/);
    // Both emails were queued at the harness clock's start; the clock has moved on by 90 s.
    expect(text).toMatch(/sesame_outbox_oldest_age_seconds 0\n/);
    h.clock.advance(90_000);
    expect(await (await h.request('/metrics')).text()).toMatch(/sesame_outbox_oldest_age_seconds 90\n/);
    expect(text).toMatch(/sesame_oauth_tokens_total\{outcome="issued"\} 1/);
  });

  it('describes every route in /openapi.json', async () => {
    h = await harness();
    const doc = (await (await h.request('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const routes = h.sesame.app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({ method: r.method.toLowerCase(), path: r.path.replace(/:(\w+)/g, '{$1}') }));
    expect(routes.length).toBeGreaterThan(8);
    for (const route of routes) expect(doc.paths[route.path]?.[route.method], `${route.method} ${route.path}`).toBeDefined();
  });
});

describe('errors and request ids', () => {
  it('answers an unknown route with NOT_FOUND and echoes a well-formed incoming request id', async () => {
    h = await harness();
    const res = await h.request('/nope', { headers: { 'x-request-id': 'abc-123' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    expect(await errorOf(res)).toMatchObject({ code: 'NOT_FOUND', request_id: 'abc-123' });
    const odd = await h.request('/healthz', { headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 413 PAYLOAD_TOO_LARGE above the body limit', async () => {
    h = await harness({ maxBodyBytes: 2048 });
    const res = await h.api('send', { email: 'big@example.com', magiclink_auth_uri: REDIRECT, state: 'x'.repeat(3000) });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('PAYLOAD_TOO_LARGE');

    // Without a Content-Length (a streamed body) the limit still holds.
    const token = await h.token();
    const chunk = new TextEncoder().encode(`{"email":"big@example.com","state":"${'y'.repeat(1500)}`);
    const streamed = await h.request('/api/v1/passwordless/email/send', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(chunk);
          controller.enqueue(chunk);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const oauth = await h.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_secret=${'z'.repeat(3000)}`,
    });
    expect(oauth.status).toBe(413);
    expect((await errorOf(oauth)).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('turns an unexpected failure into 500 INTERNAL with a request id and no details', async () => {
    h = await harness();
    const token = await h.token();
    await h.store.close();
    const res = await h.api('send', { email: 'x@example.com', magiclink_auth_uri: REDIRECT }, token);
    expect(res.status).toBe(500);
    const error = await errorOf(res);
    expect(error.code).toBe('INTERNAL');
    expect(error.request_id).toBe(res.headers.get('x-request-id'));
    expect(error.message).not.toMatch(/sqlite|database|closed|stack|at /i);
    expect(h.logs.some((line) => line.includes('unhandled error') && line.includes(error.request_id))).toBe(true);
  });

  it('logs request id, route, status and duration, and never a secret, token or code', async () => {
    h = await harness();
    const sent = (await (await h.api('send', { email: 'log@example.com', magiclink_auth_uri: REDIRECT })).json()) as {
      auth_request_id: string;
    };
    const mail = await h.latestMail('log@example.com');
    const token = await h.token();
    await h.api('verify', { code: mail.code, auth_request_id: sent.auth_request_id }, token);
    const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const verify = lines.find((l) => l.route === '/api/v1/passwordless/email/verify');
    expect(verify).toMatchObject({ status: 200, method: 'POST' });
    expect(typeof verify?.requestId).toBe('string');
    expect(typeof verify?.durationMs).toBe('number');
    const all = h.logs.join('\n');
    for (const secret of [h.clientSecret, token, mail.code!, mail.linkToken!]) expect(all).not.toContain(secret);
  });
});

describe('dev inbox', () => {
  it('lists and reads messages as JSON and renders them, newest first, in sandboxed iframes', async () => {
    h = await harness();
    // Deliver each before the next send: one batch delivers concurrently, in no fixed order, and
    // the dev inbox orders by delivery time.
    await h.api('send', { email: 'first@example.com', magiclink_auth_uri: REDIRECT, template_variables: { team: '<b>Acme</b>' } });
    await h.worker.runOnce();
    h.clock.advance(1000);
    await h.api('send', { email: 'second@example.com', magiclink_auth_uri: REDIRECT });
    await h.worker.runOnce();

    const list = (await (await h.request('/admin/api/dev-inbox')).json()) as { messages: { id: string; to: string; subject: string }[] };
    expect(list.messages.map((m) => m.to)).toEqual(['second@example.com', 'first@example.com']);
    const one = await h.request(`/admin/api/dev-inbox/${list.messages[0]!.id}`);
    expect(((await one.json()) as { to: string }).to).toBe('second@example.com');
    const missing = await h.request('/admin/api/dev-inbox/nope');
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('NOT_FOUND');

    const page = await h.request('/dev/inbox');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html.indexOf('second@example.com')).toBeLessThan(html.indexOf('first@example.com'));
    expect(html).toMatch(/<iframe sandbox="[^"]*" [^>]*srcdoc="/);
    expect(html).not.toContain('<b>Acme</b>');
    expect(html.match(/<iframe /g)).toHaveLength(2);
  });

  it('is not mounted when mail goes over SMTP', async () => {
    h = await harness({ devInbox: false });
    expect((await h.request('/admin/api/dev-inbox')).status).toBe(404);
    expect((await h.request('/dev/inbox')).status).toBe(404);
  });
});
