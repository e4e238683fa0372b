// The `npm run bench` plan, run by the peer harness's orchestrator (bench/peers) in one go: the
// bare node:http baseline, Better Auth's passwordless rows, then Sesame's. The harness's own
// targets are named relative to its work dir; Sesame's by absolute path.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const sesame = path.join(path.dirname(fileURLToPath(import.meta.url)), 'target.mjs');

export default [
  { target: 'harness/targets/ceilings.mjs', export: 'ceilingJson', workload: 'ceiling-json' },
  { target: 'harness/targets/betterauth.mjs', workload: 'send-otp' },
  { target: 'harness/targets/betterauth.mjs', workload: 'verify-otp' },
  { target: 'harness/targets/betterauth.mjs', workload: 'verify-link' },
  { target: sesame, workload: 'send' },
  { target: sesame, workload: 'verify-otp' },
  { target: sesame, workload: 'verify-link' },
];
