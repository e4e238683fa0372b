// Example plan for a side-by-side run: the default rows plus a new target.
// Copy harness/targets/_template.mjs to harness/targets/<yours>.mjs, fill it in, uncomment below, then
//   ./run.sh --plan harness/plans/side-by-side.example.mjs
import base from './default.mjs';

export default [
  ...base,
  // { target: 'harness/targets/mine.mjs', workload: 'send-otp' },
  // { target: 'harness/targets/mine.mjs', workload: 'verify-otp' },
  // { target: 'harness/targets/mine.mjs', workload: 'send-link' },
  // { target: 'harness/targets/mine.mjs', workload: 'verify-link' },
];
