/**
 * `npm run bench:grpc`: the same three operations over REST and over gRPC (the official
 * `@scalekit-sdk/node` transport), in one run, side by side (target: gRPC within 20 % of REST
 * in throughput and p99).
 *
 *   npm run bench:grpc                              # 50 concurrent, 2 s warm-up + 8 s, all three operations
 *   npm run bench:grpc -- --seconds 2 --only send   # a short check
 *
 * Options: --seconds N (measured window, default 8), --connections N (concurrent requests,
 * default 50), --only send,verify-otp,verify-link, --grpc-client sdk|connect|h2 (default sdk),
 * --sessions N (HTTP/2 sessions for gRPC, default 1), --pool N (credentials wanted per verify
 * phase, default 60000).
 *
 * - Server: a fresh `bench/sesame/server.mjs` process per protocol and operation (the real
 *   Sesame: REST and gRPC on one port, SQLite, outbox worker, a capturing mail transport), so no
 *   state leaks from one phase into the next. For verify phases: untimed REST sends first, then
 *   the captured codes / links are drained from its sidecar (which waits for the outbox), each
 *   verified once; a phase that runs out ends early (OutOfWork) and says how long it measured.
 * - Load: the closed loop of bench/lib/closed-loop.ts, in this process, for both protocols.
 *   REST: node:http, HTTP/1.1 keep-alive, an Agent with maxSockets = connections (no global
 *   fetch: undici costs the client far more CPU and would make REST look slow).
 *   gRPC, `sdk` (default): the SDK's own PasswordlessClient over the SDK's own GrpcConnect (a
 *   connect-node createGrpcTransport: HTTP/2, one session per transport, the Bearer token set as
 *   `authorization` metadata by its interceptor), i.e. exactly what an app calling
 *   `scalekit.passwordless.*` runs, with the token server.mjs issued put in its core client.
 *   One SDK client keeps one h2 session and multiplexes every call on it, so by default all
 *   concurrent calls share one session (--sessions N spreads them round-robin over N clients).
 *   gRPC, `connect`: the same transport options and interceptor, without the SDK's wrapper
 *   (create(), retry on UNAUTHENTICATED/UNAVAILABLE), to tell the wrapper's cost from the wire's.
 *   gRPC, `h2` (diagnostic): the same bytes written straight on one node:http2 session, without
 *   connect's per-call machinery, to see the server's gRPC cost with a cheap client.
 * - CPU per request over each measured window, from /proc: the server process, this process
 *   (the load generator: on a 2-core machine it competes with the server), and the rest of the
 *   machine (other load, in cores), so a difference can be put on the server or on the client.
 * - Bounded: every phase by time and request count, fills by time (shortened when the run is
 *   late), the whole run by a hard limit of 235 s at the default window (it kills the server
 *   processes it started, by PID, and exits 2). Exit code 3 when the target is not met.
 * - BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' profiles the server processes.
 *
 * The parts: grpc/options.ts (options and bounds), grpc/clients.ts (the gRPC clients),
 * grpc/workload.ts (operations and verify pools), grpc/phase.ts (one phase), grpc/report.ts.
 */
import { machineLine } from './lib/proc-cpu.js';
import { runMain } from './lib/run-main.js';
import { signalTracked, stopTracked } from './lib/tracked-servers.js';
import { CONCURRENCY, DRAIN_MS, FILL_MS, GRPC_CLIENT, HARD_LIMIT_MS, MEASURE_MS, SELECTED, SESSIONS, WARM_UP_MS } from './grpc/options.js';
import { runPhase, serverLogs, type Row } from './grpc/phase.js';
import { report } from './grpc/report.js';

const runStarted = performance.now();

async function main(): Promise<number> {
  console.log(
    `${machineLine()}; ${CONCURRENCY} concurrent, ${WARM_UP_MS / 1000} s warm-up + ${MEASURE_MS / 1000} s; gRPC client: ${GRPC_CLIENT}, ${SESSIONS} session(s)`,
  );
  const rows: Row[] = [];
  const phases = SELECTED.flatMap((operation) => (['REST', 'gRPC'] as const).map((protocol) => ({ protocol, operation })));
  for (const [index, { protocol, operation }] of phases.entries()) {
    // Keep inside the hard limit: what is left after the timed windows still to run (and a
    // margin for starting servers) is shared by the fills still to do.
    const left = phases.slice(index);
    const spare = HARD_LIMIT_MS - 20_000 - (performance.now() - runStarted) - left.length * (WARM_UP_MS + MEASURE_MS + 3_000);
    const fills = left.filter((p) => p.operation !== 'send').length;
    const fillBudgetMs = Math.max(4_000, Math.min(FILL_MS + DRAIN_MS, spare / Math.max(1, fills)));
    rows.push(await runPhase(protocol, operation, fillBudgetMs));
  }
  return report(rows) ? 0 : 3;
}

const hard = setTimeout(() => {
  console.error(`bench:grpc: hard limit of ${HARD_LIMIT_MS / 1000} s reached; stopping`);
  signalTracked('SIGKILL');
  process.exit(2);
}, HARD_LIMIT_MS);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopTracked(8_000).finally(() => {
      serverLogs.remove();
      process.exit(130);
    });
  });
}

await runMain(main, async () => {
  clearTimeout(hard);
  await stopTracked(8_000);
  if (serverLogs.dir !== undefined) {
    if (serverLogs.keep || process.exitCode === 1) console.error(`server logs kept in ${serverLogs.dir}`);
    else serverLogs.remove();
  }
});
