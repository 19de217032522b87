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
--   cqrs_command    LOGIN                           command-service: DML on cqrs_write
--   cqrs_relay      LOGIN REPLICATION               outbox-relay / Debezium: SELECT on cqrs_write + logical replication
--   cqrs_projector  LOGIN                           projector: DML on cqrs_read
--   cqrs_query      LOGIN                           query-service: SELECT on cqrs_read
--
-- Privileges on tables/sequences that cqrs_owner creates LATER (migrations) are granted
-- automatically through ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner. Migrations must
-- therefore run as cqrs_owner (or SET ROLE cqrs_owner) for the defaults to apply.
--
-- Publications: the relay may need to create a publication on the outbox table
-- (Debezium's publication.autocreate.mode=filtered). CREATE PUBLICATION ... FOR TABLE
-- requires owning the table, so migrations should create the publication as cqrs_owner
-- (recommended), or the relay connects as cqrs_admin in local setups.

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
GRANT CONNECT ON DATABASE cqrs_read  TO cqrs_projector, cqrs_query;

-- ------------------------------------------------------------ cqrs_write
\connect cqrs_write

-- cqrs_owner owns the schema; only the owner creates objects in it (PG15 default
-- already revokes CREATE from PUBLIC, this makes it explicit for older servers too).
ALTER SCHEMA public OWNER TO cqrs_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO cqrs_owner;
GRANT USAGE ON SCHEMA public TO cqrs_command, cqrs_relay;

-- Objects that already exist (none on a fresh DB; kept for re-runs after migrations).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO cqrs_command;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO cqrs_command;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO cqrs_command;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO cqrs_relay;

-- Objects cqrs_owner creates from now on.
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO cqrs_command;
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO cqrs_command;
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  GRANT SELECT ON TABLES TO cqrs_relay;

-- ------------------------------------------------------------ cqrs_read
\connect cqrs_read

ALTER SCHEMA public OWNER TO cqrs_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO cqrs_owner;
GRANT USAGE ON SCHEMA public TO cqrs_projector, cqrs_query;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO cqrs_projector;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO cqrs_projector;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO cqrs_projector;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO cqrs_query;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO cqrs_query;

ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO cqrs_projector;
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO cqrs_projector;
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  GRANT SELECT ON TABLES TO cqrs_query;
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_owner IN SCHEMA public
  GRANT SELECT ON SEQUENCES TO cqrs_query;

\connect postgres
