/**
 * Prepared statements of one connection, cached by their SQL text, and the three ways the store
 * runs them. Statements are prepared lazily: one over a table that does not exist yet cannot be
 * prepared before migrate().
 */
import type Database from 'better-sqlite3';

/** Named parameters (`@name` in the SQL). */
export type Params = Record<string, unknown>;

export interface Statements {
  /** The first row, or undefined. */
  readonly get: (source: string, params?: Params) => unknown;
  readonly all: (source: string, params?: Params) => unknown[];
  readonly run: (source: string, params?: Params) => Database.RunResult;
}

export function statementCache(db: Database.Database): Statements {
  const statements = new Map<string, Database.Statement>();
  /** The statement for `source`, prepared on first use. */
  const sql = (source: string): Database.Statement => {
    let statement = statements.get(source);
    if (!statement) {
      statement = db.prepare(source);
      statements.set(source, statement);
    }
    return statement;
  };
  return {
    get: (source, params = {}) => sql(source).get(params),
    all: (source, params = {}) => sql(source).all(params),
    run: (source, params = {}) => sql(source).run(params),
  };
}
