import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type Admin } from 'kafkajs';

/** The Kafka principal of the stack's Connect worker: Debezium's connectors write as it. */
export const CONNECT_PRINCIPAL = 'User:cqrs-connect';

type Operation = (typeof AclOperationTypes)[keyof typeof AclOperationTypes];

/** ACL entries allowing `principal` each of `operations` on the resources named by `prefix` (or exactly `prefix`, with LITERAL). */
const prefixed = (
  resourceType: (typeof AclResourceTypes)[keyof typeof AclResourceTypes],
  prefix: string,
  principal: string,
  operations: Operation[],
  resourcePatternType: (typeof ResourcePatternTypes)[keyof typeof ResourcePatternTypes] = ResourcePatternTypes.PREFIXED,
) =>
  operations.map((operation) => ({
    resourceType,
    resourceName: prefix,
    resourcePatternType,
    principal,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  }));

/**
 * Creates `acl` and resolves to its revocation. On a cluster without an authorizer (no ACLs to
 * grant: a PLAINTEXT stack) it does nothing.
 */
async function grant(admin: Admin, acl: ReturnType<typeof prefixed>): Promise<() => Promise<void>> {
  try {
    await admin.createAcls({ acl });
  } catch (error) {
    if ((error as { type?: string }).type === 'SECURITY_DISABLED') return async () => undefined;
    throw error;
  }
  return async () => {
    await admin.deleteAcls({ filters: acl });
  };
}

/**
 * Lets `principal` create, describe and write the topics whose names start with `prefix`, as an
 * operator grants a new connector's topics (the stack's own ACLs cover the system's topics only).
 */
export function grantTopicPrefix(admin: Admin, principal: string, prefix: string): Promise<() => Promise<void>> {
  return grant(
    admin,
    prefixed(AclResourceTypes.TOPIC, prefix, principal, [
      AclOperationTypes.CREATE,
      AclOperationTypes.DESCRIBE,
      AclOperationTypes.WRITE,
    ]),
  );
}

/**
 * Lets `principal` use the topics starting with `prefixes.topic` as a client that both produces
 * and consumes (Create, Describe, Write, Read), the consumer groups starting with
 * `prefixes.group` (Read, Describe, Delete) and, with `idempotentWrite`, the idempotent producer.
 */
export function grantClientAcls(
  admin: Admin,
  principal: string,
  prefixes: { topic: string; group?: string },
  options: { idempotentWrite?: boolean } = {},
): Promise<() => Promise<void>> {
  const { CREATE, DESCRIBE, WRITE, READ, DELETE, IDEMPOTENT_WRITE } = AclOperationTypes;
  return grant(admin, [
    ...prefixed(AclResourceTypes.TOPIC, prefixes.topic, principal, [CREATE, DESCRIBE, WRITE, READ]),
    ...(prefixes.group ? prefixed(AclResourceTypes.GROUP, prefixes.group, principal, [READ, DESCRIBE, DELETE]) : []),
    ...(options.idempotentWrite
      ? prefixed(AclResourceTypes.CLUSTER, 'kafka-cluster', principal, [IDEMPOTENT_WRITE], ResourcePatternTypes.LITERAL)
      : []),
  ]);
}

/**
 * What the stack grants an app's own identity on the system's topics and groups
 * (tools/local-stack/stack.sh), on a test's own topic and group prefixes instead, so that the
 * app runs as itself on them: the relay writes the topics, the projector reads them, writes their
 * dead-letter topics and uses its consumer groups.
 */
export function grantAppAcls(
  admin: Admin,
  app: 'outbox-relay' | 'projector',
  prefixes: { topic: string; group?: string },
): Promise<() => Promise<void>> {
  if (app === 'projector') return grantClientAcls(admin, 'User:cqrs-projector', prefixes);
  return grant(
    admin,
    prefixed(AclResourceTypes.TOPIC, prefixes.topic, 'User:cqrs-relay', [
      AclOperationTypes.CREATE,
      AclOperationTypes.DESCRIBE,
      AclOperationTypes.WRITE,
    ]),
  );
}
