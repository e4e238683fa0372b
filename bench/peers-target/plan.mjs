// The `npm run bench` plan, run by ../shared/peers' orchestrator in one go: the bare node:http
// baseline, Better Auth's passwordless rows, then Sesame's. Peers' own targets are named
// relative to its work dir; ours by absolute path.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const sesame = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sesame.mjs');

export default [
  { target: 'bench/targets/ceilings.mjs', export: 'ceilingJson', workload: 'ceiling-json' },
  { target: 'bench/targets/betterauth.mjs', workload: 'send-otp' },
  { target: 'bench/targets/betterauth.mjs', workload: 'verify-otp' },
  { target: 'bench/targets/betterauth.mjs', workload: 'verify-link' },
  { target: sesame, workload: 'send' },
  { target: sesame, workload: 'verify-otp' },
  { target: sesame, workload: 'verify-link' },
];
