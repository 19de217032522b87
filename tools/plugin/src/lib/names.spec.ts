import { assertContextName, contextNames, pastTense, singular } from './names';

describe('context names', () => {
  it('spells a one-word context and its default aggregate', () => {
    expect(contextNames('projects')).toEqual({
      context: 'projects',
      contextCamel: 'projects',
      contextSnake: 'projects',
      contextPascal: 'Projects',
      contextConst: 'PROJECTS',
      aggregate: 'Project',
      aggregateCamel: 'project',
      aggregateKebab: 'project',
      aggregateConst: 'PROJECT',
      namespace: 'projects.project',
      streamType: 'projects.project',
      topic: 'projects.project.events',
      topicCamel: 'projectsProjectEvents',
      topicPascal: 'ProjectsProjectEvents',
      schemaDir: 'schemas/projects/project',
      viewsTable: 'projects_project_views',
      checkpointTable: 'projects_stream_checkpoints',
      migrationsTable: 'projects_read_migrations',
    });
  });

  it('keeps hyphens out of Avro and SQL names', () => {
    expect(contextNames('order-lines')).toMatchObject({
      aggregate: 'OrderLine',
      aggregateKebab: 'order-line',
      namespace: 'order_lines.order_line',
      streamType: 'order-lines.order-line',
      topic: 'order-lines.order-line.events',
      topicCamel: 'orderLinesOrderLineEvents',
      topicPascal: 'OrderLinesOrderLineEvents',
      viewsTable: 'order_lines_order_line_views',
    });
  });

  it('takes the aggregate given', () => {
    expect(contextNames('billing', 'Invoice')).toMatchObject({ aggregate: 'Invoice', topic: 'billing.invoice.events' });
  });

  it.each([
    ['projects', 'project'],
    ['categories', 'category'],
    ['boxes', 'box'],
    ['branches', 'branch'],
    ['status', 'status'],
    ['order-lines', 'order-line'],
    ['zzdemo', 'zzdemo'],
  ])('singular(%s) is %s', (plural, one) => expect(singular(plural)).toBe(one));

  it.each([
    ['Archive', 'Archived'],
    ['Copy', 'Copied'],
    ['Start', 'Started'],
    ['Pin', 'Pinned'],
    ['Ship', 'Shipped'],
    ['Add', 'Added'],
    ['Open', 'Opened'],
    ['Fix', 'Fixed'],
  ])('pastTense(%s) is %s', (verb, past) => expect(pastTense(verb)).toBe(past));

  it.each(['Projects', 'order_lines', '1st', 'projects-', 'shared', 'app', 'testing', ''])('refuses %j', (name) => {
    expect(() => assertContextName(name)).toThrow(/context name|cannot name a context/);
  });

  it.each(['project', 'HTTPCall', 'Order_Line'])('refuses the aggregate %j', (aggregate) => {
    expect(() => contextNames('projects', aggregate)).toThrow(/not a valid aggregate name/);
  });
});
