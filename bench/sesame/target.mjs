// The peer harness's target for Sesame: its REST API on SQLite (see ./server.mjs). Loaded by the
// harness's orchestrator (bench/peers, copied to its work dir), whose cwd is that work dir.
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SERVER_NODE_FLAGS } from '../../bin/node-flags.mjs';

const { poolFromSends } = await import(pathToFileURL(path.resolve(process.cwd(), 'harness/loadgen.mjs')).href);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const API = '/api/v1/passwordless/email';
const REDIRECT = 'http://localhost:3000/api/auth/verify';
// Sized for verify on a quiet host (~5,500 req/s seen): an exhausted pool voids the rep.
const POOL_RPS = Number(process.env.SESAME_POOL_RPS || 6000);
const poolSize = ({ duration, warmup }) => Math.ceil(POOL_RPS * (duration + warmup) * 1.6);
const auth = (ctx) => ({ 'content-type': 'application/json', authorization: `Bearer ${ctx.info.token}` });

const send = {
  name: 'send',
  describe: `POST ${API}/send {email (new, unique), magiclink_auth_uri} -> 200 {auth_request_id,…}; LINK_OTP email queued and delivered by the outbox worker in the same process`,
  method: 'POST',
  path: `${API}/send`,
  headers: { 'content-type': 'application/json' },
  build: (ctx) => ({ headers: auth(ctx), body: { email: ctx.email(), magiclink_auth_uri: REDIRECT } }),
};

const verifyOtp = {
  name: 'verify-otp',
  describe: `POST ${API}/verify {code, auth_request_id} with a fresh valid code (each used once) -> 200 {email,…}`,
  method: 'POST',
  path: `${API}/verify`,
  headers: { 'content-type': 'application/json' },
  pool: { size: poolSize, prepare: poolFromSends(send, 'otp', ({ otp, auth_request_id }) => ({ code: otp, auth_request_id })) },
  build: (ctx) => ({ headers: auth(ctx), body: ctx.item() }),
};

const verifyLink = {
  name: 'verify-link',
  describe: `POST ${API}/verify {link_token, auth_request_id} with a fresh valid link token (each used once) -> 200 {email,…}`,
  method: 'POST',
  path: `${API}/verify`,
  headers: { 'content-type': 'application/json' },
  pool: { size: poolSize, prepare: poolFromSends(send, 'link', ({ link_token, auth_request_id }) => ({ link_token, auth_request_id })) },
  build: (ctx) => ({ headers: auth(ctx), body: ctx.item() }),
};

export default {
  name: 'sesame',
  // With the V8 flags `sesame start` runs with (bin/node-flags.mjs).
  server: { command: [process.execPath, ...SERVER_NODE_FLAGS, path.join(HERE, 'server.mjs'), '{port}'], port: 4500 },
  workloads: { send, 'verify-otp': verifyOtp, 'verify-link': verifyLink },
};
