// The default plan: the two ceilings, then Better Auth's four passwordless workloads.
// A plan is an array of { target: <module path relative to the package root>, export?: <named export,
// default export if omitted>, workload: <key in target.workloads> }, run in order.
export default [
  { target: 'harness/targets/ceilings.mjs', export: 'ceilingJson', workload: 'ceiling-json' },
  { target: 'harness/targets/ceilings.mjs', export: 'ceilingSqlite', workload: 'ceiling-sqlite' },
  { target: 'harness/targets/betterauth.mjs', workload: 'send-otp' },
  { target: 'harness/targets/betterauth.mjs', workload: 'verify-otp' },
  { target: 'harness/targets/betterauth.mjs', workload: 'send-link' },
  { target: 'harness/targets/betterauth.mjs', workload: 'verify-link' },
];
