/**
 * Group commit for the SQLite store: the write transactions asked for in the same turn of the
 * event loop run inside ONE `BEGIN IMMEDIATE … COMMIT`, one after another.
 *
 * Why: a commit is most of a small write's cost (the WAL frames of every page touched, the
 * write lock, the WAL index). Concurrent sends touch the same few index and table pages;
 * committed together they write those pages once.
 *
 * What each caller still gets, exactly as with one transaction per call:
 * - its own result or its own error, never a neighbour's;
 * - atomicity: a command's writes are all kept or all undone, and a command that throws does
 *   not undo its neighbours';
 * - order: commands run in arrival order, each seeing the writes of those before it, so limit
 *   checks (per-address send windows) stay exact;
 * - durability: its promise settles only after the COMMIT that holds its writes.
 *
 * How a throwing command is isolated: a batch first runs its commands back to back in the one
 * transaction, with no savepoints. Should one throw, that whole transaction is rolled back, so
 * nothing of it is kept, and the batch runs again with each command in its own SAVEPOINT: the
 * failing one is rolled back to its savepoint, alone, and the others commit. Commands are
 * statements on this connection and nothing else, so running one again on the rolled-back
 * database is running it once. A command throws only on a bug or a storage failure (a refused
 * limit is a result, not an error), so a batch almost never runs twice.
 *
 * A failure that ends the whole transaction (SQLite rolls back on its own after I/O errors,
 * a full disk, or the write lock not obtained within busy_timeout) fails every command of the
 * batch, since none of them committed.
 */
import type Database from 'better-sqlite3';

interface Pending {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

export interface GroupCommit {
  /** Queues `work` (synchronous statements on the same connection) for the next batch. */
  run<R>(work: () => R): Promise<R>;
  /** Runs everything queued now (before the connection closes). */
  flushNow(): void;
  /** Batches committed so far, commands they held, and batches rerun with savepoints (tests, diagnostics). */
  stats(): { readonly batches: number; readonly commands: number; readonly isolatedRuns: number };
}

/** A command's own error in a batch's first run (as opposed to BEGIN's or COMMIT's). */
class CommandFailed extends Error {
  constructor(cause: unknown) {
    super('A command of the batch threw.', { cause });
  }
}

/** Largest batch: bounds how long one transaction holds the write lock and the event loop. */
export const MAX_BATCH = 256;

export function createGroupCommit(db: Database.Database): GroupCommit {
  const queue: Pending[] = [];
  let scheduled = false;
  let batches = 0;
  let commands = 0;
  let isolatedRuns = 0;

  // The first try: every command straight in the batch's transaction. A command's throw is
  // marked as such and rolls the whole transaction back (better-sqlite3 rethrows it).
  const direct = db.transaction((items: readonly Pending[]): Outcome[] =>
    items.map((item) => {
      try {
        return { ok: true, value: item.work() };
      } catch (error) {
        throw new CommandFailed(error);
      }
    }),
  );
  // better-sqlite3 nests: a transaction function called inside another runs as a SAVEPOINT,
  // rolled back to (and released) when it throws. The outer one is the batch.
  const inSavepoint = db.transaction((work: () => unknown) => work());
  const isolated = db.transaction((items: readonly Pending[]): Outcome[] => {
    const outcomes: Outcome[] = [];
    for (const item of items) {
      try {
        outcomes.push({ ok: true, value: inSavepoint(item.work) });
      } catch (error) {
        // SQLite already rolled the whole transaction back (I/O error, full disk…): nothing of
        // this batch will commit, so fail it whole rather than run the rest outside it.
        if (!db.inTransaction) throw error;
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  });

  /** One transaction for `items`; again with savepoints only when a command threw in the first. */
  function runBatch(items: readonly Pending[]): Outcome[] {
    try {
      return direct.immediate(items);
    } catch (error) {
      // BEGIN or COMMIT failed (busy, I/O, full disk): no command is to blame, none committed.
      if (!(error instanceof CommandFailed)) throw error;
    }
    isolatedRuns += 1;
    return isolated.immediate(items);
  }

  function flush(): void {
    scheduled = false;
    const items = queue.splice(0, MAX_BATCH);
    if (queue.length > 0) schedule();
    if (items.length === 0) return;
    let outcomes: Outcome[];
    try {
      outcomes = runBatch(items);
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    batches += 1;
    commands += items.length;
    items.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    // setImmediate, not a microtask: it runs after the poll phase, so the requests whose bytes
    // arrived in this turn (and their crypto callbacks) have all queued their writes by then.
    setImmediate(flush);
  }

  return {
    run<R>(work: () => R): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
    flushNow() {
      while (queue.length > 0) flush();
    },
    stats: () => ({ batches, commands, isolatedRuns }),
  };
}
