// Template for plugging another server into the same load generator. Copy to harness/targets/<name>.mjs.
// Nothing here runs until a plan (or the loadgen CLI --target) points at it.
import { otpVerify, linkVerify } from '../loadgen.mjs';

const JSON_HEADERS = { 'content-type': 'application/json' };
// single-use pool size for verify workloads: expected req/s x (warm-up + timed seconds) x margin
const poolSize = ({ duration, warmup }) => Math.ceil(Number(process.env.POOL_RPS || 2000) * (duration + warmup) * 1.6);

// 1) "send": one fresh unique address per request (ctx.email()), so every request does first-time work.
const sendOtp = {
  name: 'send-otp',
  describe: 'POST /your/otp/send {email} -> 200',
  method: 'POST',
  path: '/your/otp/send',
  headers: JSON_HEADERS,
  build: (ctx) => ({ body: { email: ctx.email() } }),
  // no check(): success = 2xx/3xx as counted by autocannon (cheapest for the load generator)
};

// 2) "verify": every request consumes one valid, never-used credential from a pool prepared before the
//    timed run. otpVerify() (through poolFromSends() in loadgen.mjs) fires `size` sends and then drains
//    the captured messages from a loopback sidecar: GET {sidecar}/mailbox/otp?max=N -> [{email, otp}, ...]
//    (removing them). Any other way to get valid tokens works too: give the workload your own
//    `pool: { size, prepare }`, where prepare() is plain async code returning an array.
const verifyOtp = {
  name: 'verify-otp',
  describe: 'POST /your/otp/verify {email, otp} (fresh valid OTP, used once) -> 200 + session',
  method: 'POST',
  path: '/your/otp/verify',
  headers: JSON_HEADERS,
  ...otpVerify(sendOtp, poolSize),
};

// 3) A GET link verify where a failure is also a redirect needs a semantic check(status, headers, body):
//    linkVerify() counts a 302 whose Location contains 'error' as a failure.
//    Its pool is filled by a link send: the same request as sendOtp, at another path.
const sendLink = { ...sendOtp, name: 'send-link', describe: 'POST /your/link/send {email} -> 200', path: '/your/link/send' };
const verifyLink = {
  name: 'verify-link',
  describe: 'GET /your/link/verify?token=... (used once, redirect not followed) -> 302 + session',
  method: 'GET',
  path: '/your/link/verify',
  ...linkVerify(sendLink, poolSize, 'error'),
};

export default {
  name: 'mine',
  // Orchestrator-managed server, started fresh for every rep:
  //   { script: 'servers/mine.mjs', port: 4400 }                    -> `node servers/mine.mjs` with PORT=4400
  //   { command: ['/abs/path/to/server', '--port', '{port}'], port: 4400, env: { FOO: '1' } }
  // It must listen on 127.0.0.1 and print one stdout line: READY {"url":"http://127.0.0.1:4400","sidecar":"http://127.0.0.1:4401"}
  // and exit on SIGTERM. NODE_ENV=production is set for it.
  server: { command: ['/path/to/your/server', '--port', '{port}'], port: 4400 },
  workloads: { 'send-otp': sendOtp, 'verify-otp': verifyOtp, 'verify-link': verifyLink },
};
