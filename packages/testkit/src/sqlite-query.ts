/** One SQL statement against a test's SQLite file, on a short-lived connection of its own. */
import Database from 'better-sqlite3';

function run(filename: string, sql: string): unknown[] {
  const raw = new Database(filename);
  try {
    const statement = raw.prepare(sql);
    if (statement.reader) return statement.all();
    statement.run();
    return [];
  } finally {
    raw.close();
  }
}

/**
 * Opens the file, runs `sql` (its rows for a query, none for a change), closes it. Answers a
 * promise, like `queryPostgres`, so a failing statement is a rejection on either database.
 */
export function querySqlite(filename: string, sql: string): Promise<unknown[]> {
  return new Promise((resolve) => resolve(run(filename, sql)));
}
