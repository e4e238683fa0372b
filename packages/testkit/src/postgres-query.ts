/** One SQL statement against a test database, on a short-lived connection of its own. */
import pg from 'pg';

/** Opens a connection, runs `text`, closes it: safe across a server restart between calls. */
export async function queryPostgres<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
