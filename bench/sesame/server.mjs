// Bench-only: the real Sesame server (createApp + SQLite store + outbox worker, exactly as
// `sesame start` wires them) with a capturing mail transport instead of SMTP, plus a loopback
// "mailbox" sidecar on PORT+1 that hands the peers harness fresh codes and links
// (GET /mailbox/otp?max=N, GET /mailbox/link?max=N, GET /stats). Never part of the product.
//
// Started by the peers orchestrator with NODE_ENV=production and PORT; prints
//   READY {"url":…,"sidecar":…,"pid":…,"token":…}
// and exits on SIGTERM after a graceful shutdown.
//
// Optional, for the other benches (unset: the behaviour above, unchanged):
//   SESAME_BENCH_DB=/path/file.db        use this SQLite file (e.g. a prefilled copy) instead of a
//                                        fresh one in the temp dir; it is kept at exit.
//   SESAME_BENCH_SMTP_URL=smtp://host:p  deliver through the real SMTP transport startSesame builds
//                                        from SESAME_SMTP_URL instead of the capture; the mailbox
//                                        then stays empty.
// Outbox rows already queued when the server starts (a prefilled file may park a few) are not
// waited for by the mailbox: it waits only while the depth is above that starting depth.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';
import { openSqliteStore } from '../../packages/storage/dist/index.js';
import { createClient, loadConfig, startSesame } from '../../packages/server/dist/index.js';

const PORT = Number(process.env.PORT || 4500);
const MAILBOX_LIMIT = 400_000;
const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-'));
const dbFile = process.env.SESAME_BENCH_DB || join(dir, 'sesame.db');
const smtpUrl = process.env.SESAME_BENCH_SMTP_URL || '';

const config = loadConfig({
  ...process.env,
  HOST: '127.0.0.1',
  PORT: String(PORT),
  SESAME_DATA_DIR: dir,
  SESAME_DATABASE_URL: `file:${dbFile}`,
  SESAME_SECRET: process.env.SESAME_SECRET || randomBytes(48).toString('base64url'),
  SESAME_SMTP_URL: smtpUrl,
  // The load comes from one API client at thousands of sends a second: lift the send budgets
  // (their check still runs on every send) so they measure, not refuse.
  SESAME_CLIENT_SENDS_PER_MINUTE: '1000000',
  SESAME_SENDS_PER_MINUTE: '1000000',
});

const store = openSqliteStore({ filename: dbFile });
await store.migrate();
const startDepth = await store.outboxDepth();

// The transport only sees the rendered email; the write that queues it (in the real store) says
// which auth request an outbox row belongs to, so remember that as emails are queued. (Not at the
// claim: the worker is handed most new emails directly and claims only the rest.)
const requestOfOutbox = new Map();
// Built once (not a Proxy binding a method on every access): the server calls the store on every
// request, and the bench's own overhead should stay out of Sesame's CPU per request.
const observedStore = Object.fromEntries(
  Object.entries(store).map(([name, value]) => [name, typeof value === 'function' ? value.bind(store) : value]),
);
observedStore.createAuthRequest = async (command) => {
  const result = await store.createAuthRequest(command);
  if (result.ok) requestOfOutbox.set(command.email.id, command.email.authRequestId);
  return result;
};
observedStore.reissueCredentials = async (command) => {
  const result = await store.reissueCredentials(command);
  if (result.outcome === 'reissued') requestOfOutbox.set(command.email.id, command.email.authRequestId);
  return result;
};

const mailbox = { otp: [], link: [] };
const push = (queue, item) => {
  if (queue.length >= MAILBOX_LIMIT) queue.shift();
  queue.push(item);
};
let captured = 0;
const capture = {
  kind: 'smtp',
  async send(email) {
    const authRequestId = requestOfOutbox.get(email.outboxId);
    requestOfOutbox.delete(email.outboxId);
    const code = /code:\s*([0-9A-Z]{6,8})\b/.exec(email.text)?.[1];
    const url = /(https?:\/\/\S+[?&]link_token=[A-Za-z0-9_-]+)/.exec(email.text)?.[1];
    if (code) push(mailbox.otp, { email: email.to, otp: code, auth_request_id: authRequestId });
    if (url)
      push(mailbox.link, { email: email.to, url, link_token: new URL(url).searchParams.get('link_token'), auth_request_id: authRequestId });
    captured++;
    return { status: 'sent', reply: 'captured' };
  },
  verify: async () => ({ ok: true, detail: 'capture' }),
  close: async () => undefined,
};

const running = await startSesame(config, { store: observedStore, ...(smtpUrl ? {} : { transport: capture }) });
const client = await createClient(store, {
  key: running.sesame.clientSecretKey,
  name: 'bench',
  redirectUris: ['http://localhost:3000/*'],
  now: Date.now(),
});
const { accessToken } = await running.sesame.tokens.issue(client.record.id);

const sidecar = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const kind = /^\/mailbox\/(otp|link)$/.exec(url.pathname)?.[1];
  if (kind) {
    const max = Math.max(1, Math.min(Number(url.searchParams.get('max')) || 1000, 200_000));
    // Sends answer before delivery (the outbox): wait, bounded, until the worker has caught up.
    // The harness's GET times out after 30 s and asks again for the rest, so answer within 25 s.
    const deadline = Date.now() + 25_000;
    while (mailbox[kind].length < max && Date.now() < deadline && (await store.outboxDepth()) > startDepth) await sleep(50);
    const items = mailbox[kind].splice(0, max);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(items));
    return;
  }
  if (url.pathname === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), captured, outboxDepth: await store.outboxDepth() }));
    return;
  }
  res.writeHead(404).end();
});
await new Promise((done) => sidecar.listen(PORT + 1, '127.0.0.1', done));

process.stdout.write(
  `READY ${JSON.stringify({ url: running.url, sidecar: `http://127.0.0.1:${PORT + 1}`, pid: process.pid, token: accessToken })}\n`,
);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    if (stopping) return;
    stopping = true;
    sidecar.close();
    await running.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}
