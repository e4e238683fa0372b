/** bench:grpc's tables: gRPC against REST per operation, then every phase, and the verdict. */
import { fmt, markdownTable, resultCells } from '../lib/closed-loop.js';
import { loadAverage } from '../lib/proc-cpu.js';
import { CONCURRENCY, GRPC_CLIENT, SELECTED, SESSIONS, type OperationName } from './options.js';
import type { Row } from './phase.js';

const CLIENT_TITLE = { sdk: 'the SDK client', connect: 'connect client, SDK transport', h2: 'bare node:http2 client, diagnostic' };
const CLIENT_PATH = {
  sdk: "the SDK's PasswordlessClient and transport",
  connect: "connect-node's createGrpcTransport",
  h2: 'a bare node:http2 session',
};

function detailTable(rows: readonly Row[]): string {
  return markdownTable(
    [
      'protocol',
      'operation',
      'req/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'requests',
      'window s',
      'server CPU ms/req',
      'bench CPU ms/req',
      'other load (cores)',
      'server RSS MiB',
      'pool',
    ],
    rows.map((r) => [
      r.protocol,
      r.operation,
      ...resultCells(r.result),
      `${fmt(r.result.seconds)}${r.result.exhausted ? ' (ran out)' : ''}`,
      fmt(r.serverMsPerReq, 3),
      fmt(r.benchMsPerReq, 3),
      fmt(r.otherCores, 2),
      fmt(r.serverRssMiB, 0),
      r.pool === undefined ? '-' : String(r.pool),
    ]),
  );
}

function pair(rows: readonly Row[], operation: OperationName): { rest: Row | undefined; grpc: Row | undefined } {
  return {
    rest: rows.find((r) => r.protocol === 'REST' && r.operation === operation),
    grpc: rows.find((r) => r.protocol === 'gRPC' && r.operation === operation),
  };
}

/** Prints the report; true when the target is met. */
export function report(rows: readonly Row[]): boolean {
  let met = true;
  const summaryRows: string[][] = [];
  for (const operation of SELECTED) {
    const { rest, grpc } = pair(rows, operation);
    if (!rest || !grpc) {
      met = false;
      continue;
    }
    const rpsRatio = grpc.result.rps / rest.result.rps;
    const p99Ratio = grpc.result.p99 / rest.result.p99;
    const ok = rpsRatio >= 0.8 && p99Ratio <= 1.2 && rest.result.errors + grpc.result.errors === 0;
    met &&= ok;
    summaryRows.push([
      operation,
      fmt(rest.result.rps, 0),
      fmt(grpc.result.rps, 0),
      fmt(rpsRatio, 2),
      fmt(rest.result.p99),
      fmt(grpc.result.p99),
      fmt(p99Ratio, 2),
      `${fmt(rest.serverMsPerReq, 3)} / ${fmt(grpc.serverMsPerReq, 3)}`,
      fmt(grpc.serverMsPerReq / rest.serverMsPerReq, 2),
      `${fmt(rest.benchMsPerReq, 3)} / ${fmt(grpc.benchMsPerReq, 3)}`,
      String(rest.result.errors + grpc.result.errors),
      ok ? '✓' : '✗',
    ]);
  }
  const summary = markdownTable(
    [
      'operation',
      'REST req/s',
      'gRPC req/s',
      'gRPC ÷ REST req/s',
      'REST p99 ms',
      'gRPC p99 ms',
      'gRPC ÷ REST p99',
      'server CPU ms/req REST / gRPC',
      'gRPC ÷ REST server CPU',
      'bench CPU ms/req REST / gRPC',
      'errors',
      'within 20 %',
    ],
    summaryRows,
  );
  console.log(
    `\n## gRPC (${CLIENT_TITLE[GRPC_CLIENT]}, ${SESSIONS} h2 session${SESSIONS > 1 ? 's' : ''}) vs REST (HTTP/1.1 keep-alive, ${CONCURRENCY} sockets), ${CONCURRENCY} concurrent\n`,
  );
  console.log(summary);
  console.log(
    [
      '',
      'server CPU: the Sesame process over the measured window, per request; bench CPU: this process (the load generator:',
      `REST through node:http, gRPC through ${CLIENT_PATH[GRPC_CLIENT]}), which shares the machine with the server.`,
    ].join('\n'),
  );
  console.log('\nPer phase:\n');
  console.log(detailTable(rows));
  const noisy = rows.filter((r) => r.otherCores > 0.2).map((r) => `${r.protocol} ${r.operation}`);
  if (noisy.length > 0) console.log(`\nWARNING: other load > 0.2 cores during ${noisy.join(', ')}: those rows are not comparable.`);
  console.log(`\nTarget: gRPC within 20 % of REST (req/s ≥ 0.8×, p99 ≤ 1.2×), no errors → ${met ? 'MET' : 'NOT MET'}`);
  // On two shared cores the client's own CPU bounds the gRPC rows (the SDK's transport costs
  // several times node:http's per call), so the server's share is reported on its own.
  const serverRatios = SELECTED.map((operation) => {
    const { rest, grpc } = pair(rows, operation);
    return rest && grpc ? grpc.serverMsPerReq / rest.serverMsPerReq : Number.NaN;
  });
  const serverMet = serverRatios.every((ratio) => ratio <= 1.2);
  console.log(
    `Server side: gRPC ÷ REST server CPU per call ${serverRatios.map((r) => fmt(r, 2)).join(' / ')} (${SELECTED.join(' / ')}), each ≤ 1.2 → ${serverMet ? 'MET' : 'NOT MET'}`,
  );
  console.log(`load average at the end: ${loadAverage()}`);
  return met;
}
