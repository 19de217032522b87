import { readRepoFile } from './repo';

/** The roles and databases tools/local-stack/postgres/init.sql creates (shared by compose). */
export interface LocalDatabases {
  roles: Set<string>;
  /** database -> owner role */
  owners: Map<string, string>;
  /** database -> roles granted CONNECT */
  connect: Map<string, Set<string>>;
}

export function loadInitSql(path = 'tools/local-stack/postgres/init.sql'): LocalDatabases {
  const sql = readRepoFile(path).replace(/--.*$/gm, '');
  const roles = new Set([...sql.matchAll(/\(\s*'(\w+)'\s*,\s*'[^']*LOGIN[^']*'\s*\)/g)].map((m) => m[1]));
  const owners = new Map([...sql.matchAll(/CREATE DATABASE (\w+) OWNER (\w+)/g)].map((m) => [m[1], m[2]]));
  const connect = new Map<string, Set<string>>();
  for (const m of sql.matchAll(/GRANT ([A-Z, ]+) ON DATABASE (\w+)\s+TO ([\w, ]+);/g)) {
    if (!m[1].split(/,\s*/).includes('CONNECT')) continue;
    const granted = connect.get(m[2]) ?? new Set<string>();
    for (const role of m[3].split(/,\s*/)) granted.add(role.trim());
    connect.set(m[2], granted);
  }
  if (roles.size === 0 || owners.size === 0)
    throw new Error(`${path}: found no roles or databases; has its format changed?`);
  return { roles, owners, connect };
}
