// Resolves the test infrastructure once for a whole `npm test` run (env vars, else Docker, else
// the native stack, started if needed) and prints it as shell assignments, so every test
// process afterwards finds it in its environment instead of provisioning again.
// Run with Node 24 (type stripping): node tools/scripts/provision-infra.ts
// The TLS and credential variables (the admin identity's) go along, for every test process.
import { INFRA_VARIABLES, resolveInfraSettings } from '../../libs/testing/src/infra-settings.ts';

const infra = await resolveInfraSettings();
const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
for (const name of INFRA_VARIABLES) {
  const value = process.env[name];
  // Unset stays unset (an empty KAFKA_SASL_PASSWORD next to its _FILE would only confuse).
  if (value !== undefined && value !== '') console.log(`export ${name}=${quote(value)}`);
}
console.log(`export CQRS_INFRA_SOURCE='${infra.source}'`);
