// Resolves the test infrastructure once for a whole `npm test` run (env vars, else Docker, else
// the native stack, started if needed) and prints it as shell assignments, so every test
// process afterwards finds it in its environment instead of provisioning again.
// Run with Node 24 (type stripping): node tools/scripts/provision-infra.ts
import { getTestInfra } from '../../libs/testing/src/test-infra.ts';

const infra = await getTestInfra();
const exported = [
  'KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'KAFKA_CONNECT_URL', 'DATABASE_ADMIN_URL', 'WRITE_DATABASE_URL',
  'READ_DATABASE_URL', 'QUERY_DATABASE_URL', 'MIGRATIONS_WRITE_DATABASE_URL', 'MIGRATIONS_READ_DATABASE_URL',
  'RELAY_DATABASE_URL', 'OIDC_ISSUER_URL', 'OIDC_AUDIENCE',
];
for (const name of exported) console.log(`export ${name}='${process.env[name] ?? ''}'`);
console.log(`export CQRS_INFRA_SOURCE='${infra.source}'`);
