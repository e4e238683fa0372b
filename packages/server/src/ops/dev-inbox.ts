/**
 * The development inbox (only mounted when no SMTP URL is set, outside production): a JSON read
 * API and a plain HTML page, so `npm start` is usable before the dashboard exists. Each email's
 * HTML is shown inside a sandboxed iframe (`srcdoc`, no scripts, no same-origin), so a message
 * can never run code in this page's origin.
 */
import { escapeHtml, type DevInboxMessage, type Store } from '@sesame/core';
import { Hono } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import { TransportError } from '../http/error-handler.js';

const PAGE_LIMIT = 50;

export function toWireMessage(message: DevInboxMessage) {
  return {
    id: message.id,
    outbox_id: message.outboxId,
    to: message.to,
    from: message.from,
    subject: message.subject,
    text: message.text,
    html: message.html,
    created_at: new Date(message.createdAt).toISOString(),
  };
}

export function devInboxRoutes(store: Store): { api: Hono<AppEnv>; page: Hono<AppEnv> } {
  const api = new Hono<AppEnv>();
  api.get('/', async (c) => {
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? PAGE_LIMIT) || PAGE_LIMIT, 1), 200);
    const messages = await store.listDevInbox({ limit });
    return c.json({ messages: messages.map(toWireMessage) });
  });
  api.get('/:id', async (c) => {
    const message = await store.getDevInboxMessage(c.req.param('id'));
    if (!message) throw new TransportError(404, 'NOT_FOUND', 'No such dev inbox message.');
    return c.json(toWireMessage(message));
  });

  const page = new Hono<AppEnv>();
  page.get('/', async (c) => {
    const messages = await store.listDevInbox({ limit: PAGE_LIMIT });
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; frame-src 'self'; form-action 'none'; frame-ancestors 'none'",
    );
    return c.html(renderInboxPage(messages));
  });
  return { api, page };
}

export function renderInboxPage(messages: readonly DevInboxMessage[]): string {
  // Newest first whatever order the store returned.
  const sorted = [...messages].sort((a, b) => b.createdAt - a.createdAt);
  const items = sorted
    .map(
      (m) => `<article>
<h2>${escapeHtml(m.subject)}</h2>
<p class="meta">To <b>${escapeHtml(m.to)}</b> · from ${escapeHtml(m.from)} · <time datetime="${new Date(m.createdAt).toISOString()}">${escapeHtml(new Date(m.createdAt).toISOString())}</time></p>
<iframe sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation" referrerpolicy="no-referrer" title="${escapeHtml(m.subject)}" srcdoc="${escapeHtml(m.html)}"></iframe>
<details><summary>Plain text</summary><pre>${escapeHtml(m.text)}</pre></details>
</article>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sesame dev inbox</title>
<style>body{font-family:system-ui,sans-serif;max-width:860px;margin:2rem auto;padding:0 1rem;color:#222}
article{border:1px solid #ddd;border-radius:8px;padding:1rem;margin:1rem 0}h2{margin:0 0 .25rem;font-size:1.1rem}
.meta{color:#666;margin:0 0 .75rem;font-size:.9rem}iframe{width:100%;height:420px;border:1px solid #eee;border-radius:4px}
pre{white-space:pre-wrap}</style></head>
<body><h1>Sesame dev inbox</h1>
<p>Emails Sesame would have sent, newest first (${sorted.length} shown). No SMTP URL is set, so nothing leaves this host. <a href="">Refresh</a></p>
${items || '<p><i>No messages yet.</i></p>'}
</body></html>`;
}
