import type { ClientBase, Pool } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import { EventStoreUnavailableError } from './event-store.errors';

/** A fixed statement of the store; `name` identifies it as a prepared statement (bump its `_vN` when the text changes). */
export interface Statement {
  name: string;
  text: string;
}

/**
 * Runs the store's statements on a TypeORM DataSource: as named prepared statements (planned once
 * per connection) unless `prepared` is off, straight on the driver's pg pool when it has one.
 */
export class Sql {
  constructor(
    readonly dataSource: DataSource,
    private readonly prepared: boolean,
  ) {}

  /** Runs a statement on the runner's connection (inside its transaction, if any). */
  async on<T = unknown>(runner: QueryRunner, statement: Statement, values: unknown[]): Promise<T[]> {
    if (!this.prepared) return runner.query(statement.text, values);
    // TypeORM's query() cannot name a statement; the runner's pg client can.
    const client = (await runner.connect()) as ClientBase;
    return (await client.query({ name: statement.name, text: statement.text, values })).rows as T[];
  }

  /**
   * {@link on} a connection borrowed for this one statement: straight from the driver's pg pool
   * when there is one (a query runner per statement costs more CPU than the statement).
   */
  async once<T = unknown>(statement: Statement, values: unknown[]): Promise<T[]> {
    const pool = (this.dataSource.driver as { master?: Pool }).master;
    if (pool && typeof pool.query === 'function') {
      const config = this.prepared
        ? { name: statement.name, text: statement.text, values }
        : { text: statement.text, values };
      return (await pool.query(config)).rows as T[];
    }
    const runner = this.dataSource.createQueryRunner();
    try {
      return await this.on<T>(runner, statement, values);
    } finally {
      await runner.release();
    }
  }

  /** Runs `work` in a transaction on one connection; rolls back when it throws. */
  async transaction<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      const result = await work(runner);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) {
        // A dead connection (e.g. terminated backend) cannot roll back, but its transaction is gone anyway.
        await runner.rollbackTransaction().catch(() => undefined);
      }
      throw error;
    } finally {
      await runner.release();
    }
  }
}

export const UNIQUE_VIOLATION = '23505';

/** Rethrows `error`, as an {@link EventStoreUnavailableError} (503) when it means overload or an unreachable database. */
export function unavailableOrRethrow(error: unknown): never {
  if (EventStoreUnavailableError.matches(error)) throw new EventStoreUnavailableError(error);
  throw error;
}

export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e.code ?? e.driverError?.code;
  const name = e.constraint ?? e.driverError?.constraint;
  return code === UNIQUE_VIOLATION && name === constraint;
}
