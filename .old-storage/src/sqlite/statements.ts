/**
 * A per-connection cache of prepared statements, keyed by their SQL text. Statements are
 * prepared lazily: one over a table that does not exist yet cannot be prepared before migrate().
 */
import type Database from 'better-sqlite3';

export function statementCache(db: Database.Database): (source: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (source) => {
    let statement = statements.get(source);
    if (!statement) {
      statement = db.prepare(source);
      statements.set(source, statement);
    }
    return statement;
  };
}
