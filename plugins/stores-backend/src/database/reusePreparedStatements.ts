import { Knex } from 'knex';

/** Statements kept per connection, least recently used dropped first. */
export const KEPT_STATEMENTS = 500;

/** The parts of a better-sqlite3 connection and statement that this touches. */
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}
interface SqliteStatement {
  safeIntegers(toggle: boolean): unknown;
}

/**
 * Lets a better-sqlite3 knex client reuse its prepared statements. knex prepares every query it
 * runs, and preparing was 0.08 ms of a 1.1 ms single-store read at 10,000 stores. knex passes
 * values as bindings, so one SQL text is one statement whatever the values; better-sqlite3 runs
 * a statement to its end synchronously, so queries can share it, and SQLite prepares it again
 * itself after a schema change. Each connection gets its own kept statements when the client
 * hands it out, so queries in transactions (which knex runs on a client of their own, on that
 * connection) reuse them too. Other clients are left as they are.
 */
export function reusePreparedStatements(knex: Knex): void {
  const client = knex.client;
  if (client.config.client !== 'better-sqlite3') return;
  // What a new statement starts with: the connection's default, which knex takes from here.
  const safeIntegers =
    client.connectionSettings?.options?.safeIntegers === true;
  const acquireConnection = client.acquireConnection.bind(client);
  const keeping = new WeakSet<SqliteConnection>();
  client.acquireConnection = async () => {
    const connection: SqliteConnection = await acquireConnection();
    if (!keeping.has(connection)) {
      keepStatements(connection, safeIntegers);
      keeping.add(connection);
    }
    return connection;
  };
}

function keepStatements(connection: SqliteConnection, safeIntegers: boolean) {
  const prepare = connection.prepare.bind(connection);
  const statements = new Map<string, SqliteStatement>();
  connection.prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (statement) {
      // knex sets a query's `safeIntegers` option on the statement it prepared; a kept one
      // starts again from the default.
      statement.safeIntegers(safeIntegers);
      // Map keeps insertion order: moving a used statement to the end makes the first the
      // least recently used.
      statements.delete(sql);
    } else {
      statement = prepare(sql);
      if (statements.size >= KEPT_STATEMENTS)
        statements.delete(statements.keys().next().value!);
    }
    statements.set(sql, statement);
    return statement;
  };
}
