import { schemaRegistryOptionsFromEnv, type KafkaSecurity } from '@cqrs/config';
import { createKafka } from '@cqrs/messaging';
import {
  devToken,
  repoRoot,
  getTestInfra,
  kafkaSecurityAs,
  registryCredentials,
  registryRequest,
  type TestInfra,
} from '@cqrs/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

// The stack's defaults, as production runs them: no component reaches Kafka, Postgres or the schema
// registry without credentials over TLS, and each identity can do its own job only. Every check
// is a real client against the real servers (tools/local-stack/stack.sh up).

const EVENTS = 'tasks.task.events';
const NO_RETRY = {
  retry: { retries: 0 },
  connectionTimeout: 5000,
  authenticationTimeout: 5000,
  requestTimeout: 10_000,
};

/** What a Kafka client with `security` gets when it asks for the topic list: the names, or the error's type or name. */
async function listTopicsWith(infra: TestInfra, security: KafkaSecurity): Promise<string[] | string> {
  const admin = createKafka({
    clientId: 'transport-e2e',
    brokers: infra.kafka.brokers,
    security,
    tuning: NO_RETRY,
  }).admin();
  try {
    await admin.connect();
    return await admin.listTopics();
  } catch (error) {
    return errorKind(error);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** A kafkajs error as a user reads it: the broker's error code (`type`) when there is one, else the error's name. */
function errorKind(error: unknown): string {
  const e = error as { type?: string; name?: string; cause?: { type?: string } };
  return e.type ?? e.cause?.type ?? e.name ?? String(error);
}

/** Produces one record to `topic` as `security`; resolves 'ok' or the refusal. */
async function produceWith(infra: TestInfra, security: KafkaSecurity, topic: string): Promise<string> {
  const producer = createKafka({
    clientId: 'transport-e2e',
    brokers: infra.kafka.brokers,
    security,
    tuning: NO_RETRY,
  }).producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'transport-e2e', value: 'never delivered' }] });
    return 'ok';
  } catch (error) {
    return errorKind(error);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

describe('transport security and least privilege on the stack defaults', () => {
  let infra: TestInfra;

  beforeAll(async () => {
    infra = await getTestInfra();
    if (infra.kafka.security.protocol !== 'SASL_SSL' || !process.env['CQRS_STACK_SECRETS']) {
      throw new Error(
        'these checks need the secured stack (SASL_SSL, per-identity secrets): run them with `npm test` on the native stack',
      );
    }
    // The event topic as the relay makes it (OUTBOX_TOPIC_PARTITIONS' default), so that a refused
    // write below is refused for its ACL, not for a missing topic.
    const admin = createKafka({ clientId: 'transport-e2e', ...infra.kafka }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: EVENTS, numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
  });

  describe('Kafka: one SASL_SSL listener with ACLs', () => {
    const tls = () => ({ ca: readFileSync(process.env['KAFKA_SSL_CA_FILE'] as string, 'utf8') });

    it('lets an identity with its password over TLS in', async () => {
      expect(await listTopicsWith(infra, infra.kafka.security)).toEqual(expect.arrayContaining([EVENTS]));
    });

    it.each([
      ['without TLS or credentials (PLAINTEXT)', (): KafkaSecurity => ({ protocol: 'PLAINTEXT' })],
      ['over TLS without credentials', (): KafkaSecurity => ({ protocol: 'SSL', ssl: tls() })],
      [
        'with credentials but without TLS',
        (): KafkaSecurity => ({ protocol: 'SASL_PLAINTEXT', sasl: infra.kafka.security.sasl }),
      ],
    ])('refuses a client %s', async (_, security) => {
      const answer = await listTopicsWith(infra, security());
      expect(answer).toEqual(expect.any(String)); // an error, not a topic list
    });

    it('refuses a client that does not trust the stack CA (TLS against the public CAs)', async () => {
      const answer = await listTopicsWith(infra, { ...infra.kafka.security, ssl: true });
      expect(answer).toEqual(expect.any(String));
    });

    // Made from the security settings the tests' own clients have used: kafkajs caches a mechanism
    // (with its password) on the options object, so this also proves that createKafka hands each
    // client a copy of its own.
    it('refuses a wrong password, and a user the cluster does not know', async () => {
      const sasl = infra.kafka.security.sasl as { mechanism: 'scram-sha-512'; username: string; password: string };
      expect(
        await listTopicsWith(infra, { ...infra.kafka.security, sasl: { ...sasl, password: `${sasl.password}x` } }),
      ).toBe('KafkaJSSASLAuthenticationError');
      expect(await listTopicsWith(infra, { ...infra.kafka.security, sasl: { ...sasl, username: 'cqrs-nobody' } })).toBe(
        'KafkaJSSASLAuthenticationError',
      );
    });

    it('refuses the projector a write to the event topic, and the relay a write to the dead-letter topic', async () => {
      expect(await produceWith(infra, kafkaSecurityAs('cqrs-projector'), EVENTS)).toBe('TOPIC_AUTHORIZATION_FAILED');
      expect(await produceWith(infra, kafkaSecurityAs('cqrs-relay'), `${EVENTS}.dlq`)).toBe(
        'TOPIC_AUTHORIZATION_FAILED',
      );
    });

    it('shows the query and command services nothing: they have no Kafka ACLs at all', async () => {
      for (const user of ['cqrs-query', 'cqrs-command']) {
        expect([user, await listTopicsWith(infra, kafkaSecurityAs(user))]).toEqual([user, []]);
        expect([user, await produceWith(infra, kafkaSecurityAs(user), EVENTS)]).toEqual([
          user,
          'TOPIC_AUTHORIZATION_FAILED',
        ]);
      }
    });

    it('shows the projector the event topics it reads and no other topic', async () => {
      const seen = await listTopicsWith(infra, kafkaSecurityAs('cqrs-projector'));
      // every context's event topics (schemas/manifest.json) and their dead-letter topics
      const manifest = JSON.parse(readFileSync(join(repoRoot(), 'schemas/manifest.json'), 'utf8')) as {
        schemas: { topic: string }[];
      };
      const readable = new Set(manifest.schemas.flatMap((s) => [s.topic, `${s.topic}.dlq`]));
      expect(Array.isArray(seen) && seen.filter((t) => !readable.has(t))).toEqual([]);
      expect(seen).toContain(EVENTS);
    });
  });

  describe('Postgres: TLS only, verified against the stack CA', () => {
    const withUrl = async (url: string) => {
      const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'))
          .rows[0]?.ssl;
      } catch (error) {
        return (error as Error).message;
      } finally {
        await client.end().catch(() => undefined);
      }
    };
    const withMode = (url: string, mode: Record<string, string | null>) => {
      const u = new URL(url);
      for (const [key, value] of Object.entries(mode)) {
        if (value === null) u.searchParams.delete(key);
        else u.searchParams.set(key, value);
      }
      return u.toString();
    };

    it('serves every role over TLS with a certificate the stack CA verifies (sslmode=verify-full)', async () => {
      for (const url of [infra.postgres.writeUrl, infra.postgres.queryUrl, infra.postgres.relayUrl]) {
        expect([new URL(url).username, await withUrl(url)]).toEqual([new URL(url).username, true]);
      }
    });

    it('refuses a connection without TLS, even with the right password', async () => {
      expect(await withUrl(withMode(infra.postgres.writeUrl, { sslmode: 'disable', sslrootcert: null }))).toMatch(
        /no encryption/,
      );
    });

    it('refuses a client that does not trust the stack CA', async () => {
      expect(await withUrl(withMode(infra.postgres.writeUrl, { sslrootcert: null }))).toMatch(
        /unable to verify the first certificate/,
      );
    });
  });

  describe('schema registry: HTTPS, credentials, roles', () => {
    const as = (user: string) => schemaRegistryOptionsFromEnv({ ...process.env, ...registryCredentials(user) });
    const register = (user: string) =>
      registryRequest(as(user), '/subjects/transport-e2e-refused-value/versions', {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema: '"string"' }),
      });

    it('has no plain-HTTP port', async () => {
      const plain = infra.schemaRegistry.url.replace(/^https:/, 'http:');
      const answer = await fetch(`${plain}/subjects`, { signal: AbortSignal.timeout(10_000) }).then(
        (r) => r.status,
        () => 'refused',
      );
      expect(answer).not.toBe(200);
    });

    it('answers 401 without credentials and with a wrong password', async () => {
      const { auth: _, ...anonymous } = infra.schemaRegistry;
      expect((await registryRequest(anonymous, '/subjects')).status).toBe(401);
      const admin = infra.schemaRegistry.auth as { username: string; password: string };
      expect(
        (
          await registryRequest(
            { ...infra.schemaRegistry, auth: { ...admin, password: `${admin.password}x` } },
            '/subjects',
          )
        ).status,
      ).toBe(401);
    });

    it('refuses the API tokens the apps accept: their audience is not the registry', async () => {
      const { auth: _, ...anonymous } = infra.schemaRegistry;
      expect(
        (await registryRequest({ ...anonymous, token: await devToken('alice', { roles: ['admin'] }) }, '/subjects'))
          .status,
      ).toBe(401);
    });

    it('lets the projector read schemas but not register one (403)', async () => {
      expect((await registryRequest(as('cqrs-projector'), '/subjects')).status).toBe(200);
      expect((await register('cqrs-projector')).status).toBe(403);
    });

    it('takes a bearer token from the issuer (client_credentials): read-only for the relay', async () => {
      const issuer = process.env['OIDC_ISSUER_URL'] as string;
      const secret = readFileSync(
        join(process.env['CQRS_STACK_SECRETS'] as string, 'registry-cqrs-relay.password'),
        'utf8',
      );
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'cqrs-relay', client_secret: secret }),
      });
      expect(response.status).toBe(200);
      const { access_token: token } = (await response.json()) as { access_token: string };
      const { auth: _, ...anonymous } = infra.schemaRegistry;
      expect((await registryRequest({ ...anonymous, token }, '/subjects')).status).toBe(200);
      expect(
        (
          await registryRequest({ ...anonymous, token }, '/subjects/transport-e2e-refused-value/versions', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ schema: '"string"' }),
          })
        ).status,
      ).toBe(403);
    });

    it('lets the command service look up the id of a registered schema (what it encodes with) but not register one', async () => {
      // As `npm run schemas:register` (the admin identity) left it; the command service looks it up by content.
      const subject = 'transport-e2e-lookup-value';
      expect(
        (
          await registryRequest(infra.schemaRegistry, `/subjects/${subject}/versions`, {
            method: 'POST',
            headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
            body: JSON.stringify({ schema: '"string"' }),
          })
        ).status,
      ).toBe(200);
      try {
        const lookup = await registryRequest(as('cqrs-command'), `/subjects/${subject}`, {
          method: 'POST',
          headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
          body: JSON.stringify({ schema: '"string"' }),
        });
        expect(lookup.status).toBe(200);
        expect(JSON.parse(lookup.text)).toMatchObject({ subject, version: 1 });
        expect((await register('cqrs-command')).status).toBe(403);
      } finally {
        await registryRequest(infra.schemaRegistry, `/subjects/${subject}`, { method: 'DELETE' });
        await registryRequest(infra.schemaRegistry, `/subjects/${subject}?permanent=true`, { method: 'DELETE' });
      }
    });
  });
});
