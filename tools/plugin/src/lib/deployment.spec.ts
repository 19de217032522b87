import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addComposeTopics, addHelmTopicNames, COMPOSE_FILE, HELM_VALUES } from './deployment';
import { contextNames } from './names';

const root = join(__dirname, '..', '..', '..', '..');
const invoices = contextNames('invoices');

// The shape of the compose `topics` service and the chart's topic list, small enough to read.
const compose = `services:
  kafka:
    environment:
      TOPICS: not-this-one
  # the topics job
  topics:
    image: apache/kafka
    environment:
      <<: *event-topics
      TOPICS: tasks.task.events
      ACLS: |
        cqrs-relay     literal  --topic tasks.task.events      Write Describe Create
        cqrs-relay     literal  --cluster                      IdempotentWrite

    command:
      - |
        echo "$$ACLS"
  projector:
    image: x
`;

const values = `kafka:
  brokers: a
  topics:
    create: false
    names:
      - tasks.task.events
      - tasks.task.events.dlq
    # settings
    config:
      min.insync.replicas: 2
`;

describe('deployment edits', () => {
  it("adds the context's topic and its ACLs to the compose topics job, aligned, once", () => {
    const edited = addComposeTopics(COMPOSE_FILE, compose, invoices);
    expect(edited).toContain('      TOPICS: tasks.task.events,invoices.invoice.events\n');
    expect(edited).toContain('    environment:\n      TOPICS: not-this-one\n');
    expect(edited).toContain(
      [
        '        cqrs-relay     literal  --cluster                      IdempotentWrite',
        '        cqrs-relay     literal  --topic invoices.invoice.events      Write Describe Create',
        '        cqrs-projector literal  --topic invoices.invoice.events      Read Describe Create',
        '        cqrs-projector literal  --topic invoices.invoice.events.dlq  Write Describe Create Read',
        '        cqrs-projector prefixed --group invoices-projector           Read Describe Delete',
        '        cqrs-connect   prefixed --topic invoices.                    Write Describe Create',
        '',
        '    command:',
      ].join('\n'),
    );
    expect(addComposeTopics(COMPOSE_FILE, edited, invoices)).toBe(edited);
  });

  it('adds only the ACLs that are missing, whatever their spacing', () => {
    const partly = compose
      .replace('      TOPICS: tasks.task.events\n', "      TOPICS: 'tasks.task.events,invoices.invoice.events'\n")
      .replace(
        'IdempotentWrite\n',
        'IdempotentWrite\n        cqrs-connect prefixed --topic invoices. Write Describe Create\n',
      );
    const edited = addComposeTopics(COMPOSE_FILE, partly, invoices);
    expect(edited).toContain("      TOPICS: 'tasks.task.events,invoices.invoice.events'\n");
    expect(edited.match(/invoices\. /g)).toHaveLength(1);
    expect(edited.match(/--topic invoices\.invoice\.events /g)).toHaveLength(2);
  });

  it('fails naming the file and the anchor it misses', () => {
    expect(() => addComposeTopics(COMPOSE_FILE, compose.replace('  topics:', '  topix:'), invoices)).toThrow(
      'docker-compose.yml: no `services.topics` to add the topics to',
    );
    expect(() => addComposeTopics(COMPOSE_FILE, compose.replace('ACLS: |', 'ACLS: >'), invoices)).toThrow(
      '`ACLS:` of service `topics` is not a literal block',
    );
    expect(() => addComposeTopics(COMPOSE_FILE, compose.replace('TOPICS: tasks', 'TOPIC: tasks'), invoices)).toThrow(
      'no `TOPICS:` in the environment of service `topics`',
    );
    expect(() => addHelmTopicNames(HELM_VALUES, values.replace('  topics:', '  topicz:'), invoices)).toThrow(
      'helm/cqrs/values.yaml: no `kafka.topics` to add the topics to',
    );
    expect(() =>
      addHelmTopicNames(HELM_VALUES, values.replace(/names:\n.*\n.*\n/, 'names: [a, b]\n'), invoices),
    ).toThrow('`kafka.topics.names` is not a block list');
  });

  it("adds the context's topic and dead-letter topic to the chart's topic names, once", () => {
    const edited = addHelmTopicNames(HELM_VALUES, values, invoices);
    expect(edited).toContain(
      '      - tasks.task.events.dlq\n      - invoices.invoice.events\n      - invoices.invoice.events.dlq\n    # settings\n',
    );
    expect(addHelmTopicNames(HELM_VALUES, edited, invoices)).toBe(edited);
  });

  // The ACLs themselves are checked where they matter: the generators' workspace spec runs
  // tools/deploy's compose spec, which compares the block with tools/local-stack/stack.sh.
  it("finds its anchors in the repository's files", () => {
    const composeText = readFileSync(join(root, COMPOSE_FILE), 'utf8');
    expect(addComposeTopics(COMPOSE_FILE, composeText, invoices)).toContain('invoices.invoice.events.dlq');
    const valuesText = readFileSync(join(root, HELM_VALUES), 'utf8');
    expect(addHelmTopicNames(HELM_VALUES, valuesText, invoices)).toContain('- invoices.invoice.events.dlq');
  });
});
