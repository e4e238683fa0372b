/** bench:growth's tables: every row, then the prefilled database against the empty one. */
import { fmt, markdownTable, resultCells } from '../lib/closed-loop.js';
import type { Row } from './load.js';
import { P99_TARGET } from './options.js';

export function report(rows: readonly Row[], label: string): void {
  const order = ['empty', label];
  const sorted = [...rows].sort((a, b) => order.indexOf(a.database) - order.indexOf(b.database));
  console.log('');
  console.log(
    markdownTable(
      ['database', 'workload', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'requests', 'server CPU ms/req', 'server RSS MiB'],
      sorted.map((r) => [r.database, r.workload, ...resultCells(r.result, 'pool used up'), fmt(r.serverMsPerReq, 2), fmt(r.rssMiB, 0)]),
    ),
  );
  console.log('');
  const workloads = [...new Set(sorted.map((r) => r.workload))];
  console.log(
    markdownTable(
      ['workload', 'p99 empty', `p99 ${label}`, `p99 ratio (target ≤ ${P99_TARGET})`, 'req/s ratio'],
      workloads.map((workload) => {
        const empty = sorted.find((r) => r.database === 'empty' && r.workload === workload)!.result;
        const full = sorted.find((r) => r.database === label && r.workload === workload)!.result;
        const ratio = full.p99 / empty.p99;
        return [
          workload,
          fmt(empty.p99),
          fmt(full.p99),
          `${fmt(ratio, 2)} ${ratio <= P99_TARGET ? 'ok' : 'OVER'}`,
          fmt(full.rps / empty.rps, 2),
        ];
      }),
    ),
  );
}
