import { ContractCatalog, type EventContract } from './event-contract';

const contract = (topic: string, recordName: string): EventContract => ({
  eventType: recordName.split('.').pop() as string,
  recordName,
  topic,
  subject: `${topic}-${recordName}`,
  schema: { type: 'record', name: recordName, fields: [] },
});

describe('ContractCatalog', () => {
  const created = contract('tasks.task.events', 'tasks.task.TaskCreated');
  const billingCreated = contract('billing.invoice.events', 'billing.invoice.TaskCreated');

  it('finds a contract by full name, and by short name while that is unambiguous', () => {
    const catalog = new ContractCatalog([created]);
    expect(catalog.find('tasks.task.TaskCreated')).toBe(created);
    expect(catalog.find('TaskCreated', 'tasks.task.events')).toBe(created);
    expect(catalog.find('TaskCreated', 'other.events')).toBeUndefined();
  });

  it('needs the topic to tell apart two records with the same short name', () => {
    const catalog = new ContractCatalog([created, billingCreated]);
    expect(catalog.find('TaskCreated')).toBeUndefined();
    expect(catalog.find('TaskCreated', 'billing.invoice.events')).toBe(billingCreated);
    expect(catalog.readerFor('billing.invoice.TaskCreated')).toBe(billingCreated);
  });

  it('refuses a subject that does not follow TopicRecordNameStrategy', () => {
    expect(() => new ContractCatalog([{ ...created, subject: 'tasks.task.TaskCreated' }])).toThrow(
      'contract tasks.task.TaskCreated: subject tasks.task.TaskCreated should be tasks.task.events-tasks.task.TaskCreated',
    );
  });
});
