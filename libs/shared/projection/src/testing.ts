/**
 * Test support: a throwaway read database owned by the owner role, reachable by the projector and
 * query roles only, with the given contexts' read-model migrations applied, as production has it.
 */
import { dropDatabase, quoteIdent, restrictToRoles, withClient } from '@cqrs/testing';
import { randomBytes } from 'node:crypto';
import { migrateReadModels, type ReadModelMigrations } from './lib/read-database';

export interface ReadTestDatabase {
  name: string;
  /** As the owner role (DDL, migrations). */
  ownerUrl: string;
  /** As the projector role (DML). */
  projectorUrl: string;
  /** As the query role (SELECT). */
  queryUrl: string;
  /** Drops the database, closing whatever connections are still open. */
  drop(): Promise<void>;
}

/**
 * Creates `<prefix>_<10 hex>` (add the prefix to @cqrs/testing's TEST_DATABASE_PREFIXES) and
 * applies `migrations` as the owner.
 */
export async function createReadTestDatabase(options: {
  adminUrl: string;
  ownerUrl: string;
  projectorUrl: string;
  queryUrl: string;
  prefix: string;
  migrations: readonly ReadModelMigrations[];
}): Promise<ReadTestDatabase> {
  const name = `${options.prefix}_${randomBytes(5).toString('hex')}`;
  const urlAs = (roleUrl: string) => {
    const url = new URL(roleUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const role = (url: string) => new URL(url).username;
  await withClient(options.adminUrl, (admin) =>
    admin.query(`CREATE DATABASE ${name} OWNER ${quoteIdent(role(options.ownerUrl))}`),
  );
  const ownerUrl = urlAs(options.ownerUrl);
  // Only the owner and the two app roles connect; the migrations grant them their tables.
  await restrictToRoles(ownerUrl, name, [role(options.projectorUrl), role(options.queryUrl)]);
  await migrateReadModels(ownerUrl, options.migrations);
  return {
    name,
    ownerUrl,
    projectorUrl: urlAs(options.projectorUrl),
    queryUrl: urlAs(options.queryUrl),
    drop: () => dropDatabase(options.adminUrl, name),
  };
}
