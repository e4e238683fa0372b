/** What a role's SQL runs through: one connection, its statements prepared once each. */
import type pg from 'pg';

export type Values = readonly unknown[];

export interface Session {
  /** Runs one statement (prepared once per connection) and answers its rows. */
  rows<R>(text: string, values?: Values): Promise<R[]>;
  /** Runs one statement and answers how many rows it touched. */
  count(text: string, values?: Values): Promise<number>;
  /** Runs a script of several statements without parameters (migrations), with its own client-side time limit. */
  script(text: string, timeoutMs?: number): Promise<void>;
}

/**
 * Sessions over the connections of one pool. Each statement text gets one name for the whole
 * pool, so a connection parses and plans it once and reuses the plan afterwards.
 */
export function sessionFactory(): (client: pg.PoolClient) => Session {
  const names = new Map<string, string>();
  function named(text: string): string {
    let name = names.get(text);
    if (name === undefined) {
      name = `sesame_${names.size + 1}`;
      names.set(text, name);
    }
    return name;
  }
  return (client) => ({
    async rows<R>(text: string, values: Values = []) {
      const result = await client.query<R & pg.QueryResultRow>({ name: named(text), text, values: [...values] });
      return result.rows;
    },
    async count(text: string, values: Values = []) {
      const result = await client.query({ name: named(text), text, values: [...values] });
      return result.rowCount ?? 0;
    },
    async script(text: string, timeoutMs?: number) {
      if (timeoutMs === undefined) {
        await client.query(text);
        return;
      }
      // node-postgres honours a per-query `query_timeout`; its type declarations omit it.
      const config: pg.QueryConfig & { query_timeout: number } = { text, query_timeout: timeoutMs };
      await client.query(config);
    },
  });
}

/**
 * PostgreSQL text cannot hold NUL, which SQLite stores and compares like any character. No row
 * can have such a key, so a lookup by one finds nothing, as on SQLite, instead of failing.
 */
export function unstorable(key: string): boolean {
  return key.includes('\u0000');
}
