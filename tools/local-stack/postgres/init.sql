-- Databases and roles for the CQRS starter. LOCAL DEVELOPMENT ONLY.
--
-- Every role's password is `cqrs`. Never use this file (or these passwords) outside a
-- developer machine / CI: real environments create their own roles and secrets.
--
-- Run as a superuser through psql, once, on a fresh cluster:
--   * native stack: tools/local-stack/stack.sh runs it after initdb;
--   * docker-compose: mounted into /docker-entrypoint-initdb.d (runs as POSTGRES_USER).
-- It uses psql meta-commands (\connect, \gexec), which both paths support.
-- It is idempotent: running it again changes nothing that is already in place.
--
-- Roles:
--   cqrs_admin      SUPERUSER LOGIN                 tests and tooling (create/drop test DBs, ...)
--   cqrs_owner      LOGIN                           owns public-schema objects of both DBs, runs migrations
--   cqrs_command    LOGIN                           command-service: appends to cqrs_write
--   cqrs_relay      LOGIN REPLICATION               outbox-relay / Debezium: SELECT on cqrs_write's outbox + logical replication
--   cqrs_projector  LOGIN                           projector: DML on cqrs_read's generation tables; SELECT on
--                                                   cqrs_write's events and events_archive (the event store:
--                                                   rebuilds and reconciliation read it, EVENT_STORE_DATABASE_URL)
--   cqrs_query      LOGIN                           query-service: SELECT on cqrs_read's read-model views
--
-- This file makes the roles, the databases, CONNECT and schema USAGE. Privileges on tables,
-- views and functions are granted per object by the migrations, which run as cqrs_owner and
-- grant to these role names (docs/architecture.md, "Database roles and grants"); nothing is
-- granted by default privileges, so a table a migration adds is nobody's until it says so.
--
-- Publications: CREATE PUBLICATION ... FOR TABLE requires owning the table, so the event-store
-- migrations create cqrs_outbox as cqrs_owner; Debezium uses it with
-- publication.autocreate.mode=disabled and the relay owns nothing.

\set ON_ERROR_STOP on

-- ---------------------------------------------------------------- roles
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      ('cqrs_admin',     'SUPERUSER LOGIN'),
      ('cqrs_owner',     'NOSUPERUSER LOGIN'),
      ('cqrs_command',   'NOSUPERUSER LOGIN'),
      ('cqrs_relay',     'NOSUPERUSER LOGIN REPLICATION'),
      ('cqrs_projector', 'NOSUPERUSER LOGIN'),
      ('cqrs_query',     'NOSUPERUSER LOGIN')
    ) AS t(name, attrs)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) THEN
      EXECUTE format('CREATE ROLE %I %s PASSWORD %L', r.name, r.attrs, 'cqrs');
    ELSE
      EXECUTE format('ALTER ROLE %I %s PASSWORD %L', r.name, r.attrs, 'cqrs');
    END IF;
  END LOOP;
END
$$;

-- ------------------------------------------------------------ databases
SELECT 'CREATE DATABASE cqrs_write OWNER cqrs_owner'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'cqrs_write')
\gexec
SELECT 'CREATE DATABASE cqrs_read OWNER cqrs_owner'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'cqrs_read')
\gexec

-- Nobody but the named roles connects to the app databases.
REVOKE ALL ON DATABASE cqrs_write FROM PUBLIC;
REVOKE ALL ON DATABASE cqrs_read  FROM PUBLIC;
GRANT CONNECT, TEMPORARY, CREATE ON DATABASE cqrs_write TO cqrs_owner;
GRANT CONNECT, TEMPORARY, CREATE ON DATABASE cqrs_read  TO cqrs_owner;
GRANT CONNECT ON DATABASE cqrs_write TO cqrs_command, cqrs_relay;
-- The projector reads the event store, the source of truth (rebuilds, reconciliation); the
-- event-store migrations grant it SELECT on events and events_archive and nothing else.
GRANT CONNECT ON DATABASE cqrs_write TO cqrs_projector;
GRANT CONNECT ON DATABASE cqrs_read  TO cqrs_projector, cqrs_query;

-- ------------------------------------------------------------ cqrs_write
\connect cqrs_write

-- cqrs_owner owns the schema; only the owner creates objects in it (PG15 default
-- already revokes CREATE from PUBLIC, this makes it explicit for older servers too).
ALTER SCHEMA public OWNER TO cqrs_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO cqrs_owner;
GRANT USAGE ON SCHEMA public TO cqrs_command, cqrs_relay, cqrs_projector;

-- No default privileges: the migrations grant per object. Earlier versions of this file handed
-- every new table to cqrs_command (DML) and cqrs_relay (SELECT); take those defaults back on
-- clusters made by them (the event-store migration 1764000000004 revokes the table grants).
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  REVOKE ALL ON TABLES FROM cqrs_command, cqrs_relay;
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  REVOKE ALL ON SEQUENCES FROM cqrs_command, cqrs_relay;
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner
  REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- ------------------------------------------------------------ cqrs_read
\connect cqrs_read

ALTER SCHEMA public OWNER TO cqrs_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO cqrs_owner;
GRANT USAGE ON SCHEMA public TO cqrs_projector, cqrs_query;

-- As in cqrs_write: no default privileges (the read-model migration 1765000000002 and each
-- rebuild grant per table); take back those of earlier versions of this file.
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  REVOKE ALL ON TABLES FROM cqrs_projector, cqrs_query;
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  REVOKE ALL ON SEQUENCES FROM cqrs_projector, cqrs_query;
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner
  REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

\connect postgres
