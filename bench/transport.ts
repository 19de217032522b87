/**
 * What TLS + SASL cost, measured side by side with PLAINTEXT on the same broker in the same run
 * (bench:relay, bench:e2e). The stack's only client listener is SASL_SSL; for the comparison the
 * benchmark restarts the native stack's broker with an extra loopback PLAINTEXT listener
 * (`CQRS_KAFKA_PLAINTEXT_PORT`, tools/local-stack/stack.sh), grants its unauthenticated clients
 * (User:ANONYMOUS) the benchmark's own topics and groups, and afterwards revokes them and restarts
 * the broker without the listener.
 */
import { createKafka } from '@cqrs/messaging';
import { grantClientAcls, parseEnvFile, repoRoot, type TestInfra } from '@cqrs/testing';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export type Transport = 'SASL_SSL' | 'PLAINTEXT';

/** The transports to compare: BENCH_TRANSPORTS (default both). */
export const TRANSPORTS = (process.env['BENCH_TRANSPORTS'] ?? 'SASL_SSL,PLAINTEXT')
  .split(',')
  .filter((t): t is Transport => t === 'SASL_SSL' || t === 'PLAINTEXT');

export interface PlaintextListener {
  /** Environment that points an app at the PLAINTEXT listener without any TLS or SASL setting. */
  env: Record<string, string | undefined>;
  /** Revokes the grants and restarts the broker without the listener. */
  close(): Promise<void>;
}

const stack = (env: Record<string, string | undefined>) =>
  exec('bash', [join(repoRoot(), 'tools/local-stack/stack.sh'), 'restart-kafka'], {
    env: { ...process.env, ...env },
    timeout: 5 * 60_000,
    maxBuffer: 16 << 20,
  });

/**
 * Opens the PLAINTEXT listener for topics and consumer groups starting with the given prefixes;
 * undefined (the comparison is skipped, with a reason) when the infrastructure is not the native
 * stack, whose broker this may restart.
 */
export async function openPlaintextListener(
  infra: TestInfra,
  grants: { topicPrefix: string; groupPrefix?: string },
  log: (message: string) => void,
): Promise<PlaintextListener | undefined> {
  const stackEnv = join(process.env['CQRS_STACK_STATE'] ?? join(repoRoot(), '.local-stack'), 'env');
  const nativeBrokers = existsSync(stackEnv) ? parseEnvFile(stackEnv)['KAFKA_BROKERS'] : undefined;
  if (infra.source === 'docker' || nativeBrokers !== infra.kafka.brokers.join(',')) {
    log(`PLAINTEXT comparison skipped: the broker is not the native stack's (infrastructure from ${infra.source})`);
    return undefined;
  }
  const port = process.env['BENCH_PLAINTEXT_PORT'] ?? '9094';
  log(`restarting the stack's broker with a PLAINTEXT listener on 127.0.0.1:${port}`);
  await stack({ CQRS_KAFKA_PLAINTEXT_PORT: port });
  const admin = createKafka({ clientId: 'bench-transport', ...infra.kafka }).admin();
  await admin.connect();
  const revoke = await grantClientAcls(
    admin,
    'User:ANONYMOUS',
    { topic: grants.topicPrefix, group: grants.groupPrefix },
    { idempotentWrite: true },
  );
  return {
    env: {
      KAFKA_BROKERS: `127.0.0.1:${port}`,
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
      KAFKA_SSL_CA_FILE: undefined,
      KAFKA_SSL_CERT_FILE: undefined,
      KAFKA_SSL_KEY_FILE: undefined,
      KAFKA_SSL_KEY_PASSWORD: undefined,
      KAFKA_SSL_KEY_PASSWORD_FILE: undefined,
      KAFKA_SASL_MECHANISM: undefined,
      KAFKA_SASL_USERNAME: undefined,
      KAFKA_SASL_PASSWORD: undefined,
      KAFKA_SASL_PASSWORD_FILE: undefined,
    },
    async close() {
      await revoke().catch(() => undefined);
      await admin.disconnect();
      log("restarting the stack's broker without the PLAINTEXT listener");
      await stack({ CQRS_KAFKA_PLAINTEXT_PORT: undefined });
    },
  };
}
