import type { BatchHandler, ConsumerLogger, DeadLetterPublisher } from '@cqrs/messaging/consumer';
import {
  contextFromCarrier,
  cqrsMetric,
  recordError,
  SpanKind,
  startSpan,
  withActiveSpan,
  type Span,
} from '@cqrs/observability';
import type { SequencedRecord, RecordOverrides, TaskReadModelWriter } from '@cqrs/tasks-read-model';
import type { TaskEvent } from '@cqrs/tasks-domain';
import type { TaskRecordDecoder } from './task-record.decoder';

const processed = cqrsMetric('cqrs_events_processed_total');
const processing = cqrsMetric('cqrs_event_processing_duration_seconds');
const duplicates = cqrsMetric('cqrs_duplicate_events_total');

export interface ProjectBatchOptions {
  writer: TaskReadModelWriter;
  /** Applies the batches; @default writer (a BatchGroupWriter shares transactions between partitions). */
  batches?: Pick<TaskReadModelWriter, 'applyBatch'>;
  decoder: TaskRecordDecoder;
  dlq: DeadLetterPublisher;
  /** Operators' corrected values for parked records, read at their positions. */
  overrides: RecordOverrides;
  /** Attempts on a batch with a gap before the gap is parked. */
  gapRetries: number;
  logger: ConsumerLogger;
  /** Metric label. @default 'tasks' */
  projection?: string;
}

type Outcome = 'applied' | 'duplicate' | 'parked';

/** What to trace of one record: its `event.<Type>` span, when its headers carry a trace. */
interface TracedRecord {
  record: SequencedRecord<TaskEvent>;
  type: string;
  span?: Span;
}

/**
 * The projector's batch handler: decode, then apply the whole batch in one read-model
 * transaction; parked records go to the DLQ before that transaction commits (so a parked record
 * is on the DLQ whenever its parking is). The consumer commits offsets only after this resolves.
 *
 * Tracing: each record whose headers carry a trace gets an `event.<Type>` span continuing it (the
 * command's trace, through the outbox and Kafka); the batch's `read_model.transaction` span is the
 * child of that span when the batch holds one traced record and links to each otherwise.
 */
export function projectBatch(options: ProjectBatchOptions): BatchHandler {
  const projection = options.projection ?? 'tasks';
  return async (consumed, { attempt, firstFailedAt }) => {
    const first = consumed[0];
    const last = consumed[consumed.length - 1];
    if (!first || !last) return;
    const started = performance.now();
    const fixes = await options.overrides.forRange(first.topic, first.partition, first.offset, last.offset);
    const records =
      fixes.size === 0 ? consumed : consumed.map((r) => ({ ...r, value: fixes.get(r.offset) ?? r.value }));
    const sequenced = await options.decoder.decodeAll(records);
    // A dead letter carries the headers exactly as they came, which the parked row keeps only as text.
    const rawHeaders = new Map(consumed.map((r) => [r.offset, r.rawHeaders]));
    const traced = new Map(
      sequenced.map((record) => [record.source, startEventSpan(record, sequenced.length, projection)]),
    );
    const failedAt = firstFailedAt ?? new Date();
    const spans = [...traced.values()].flatMap((t) => (t.span ? [t.span] : []));
    const [only] = spans;
    const transaction =
      spans.length === 0
        ? undefined
        : spans.length === 1 && only
          ? withActiveSpan(only, () => startSpan('read_model.transaction'))
          : // a root of its own (not the consumer's batch span), linked to every event it commits
            startSpan('read_model.transaction', {
              root: true,
              links: spans.map((span) => ({ context: span.spanContext() })),
            });
    const apply = () =>
      (options.batches ?? options.writer).applyBatch(sequenced, {
        // A gap may close by itself (another writer is mid-batch on that stream); park it only
        // once retries did not close it, so no stream ever applies out of order.
        parkGaps: attempt > options.gapRetries,
        attempts: attempt,
        firstFailedAt: failedAt,
        positions: [{ topic: last.topic, partition: last.partition, offset: last.offset }],
        beforeCommit: (plan) =>
          options.dlq.publish(
            plan.parked.map((p) => ({
              record: { ...p.source, rawHeaders: rawHeaders.get(p.source.offset) },
              reason: p.reason,
              errorCode: p.code,
              errorMessage: p.message,
              attempts: attempt,
              firstFailedAt: failedAt,
            })),
          ),
      });
    let plan: Awaited<ReturnType<typeof apply>>['plan'];
    try {
      ({ plan } = await (transaction ? withActiveSpan(transaction, apply) : apply()));
    } catch (error) {
      // The batch will be retried: the spans of this attempt end failed.
      for (const span of [transaction, ...spans]) {
        if (!span) continue;
        recordError(span, error);
        span.end();
      }
      throw error;
    }
    transaction?.end();
    const durationMs = performance.now() - started;
    const outcome = new Map<
      SequencedRecord<TaskEvent>['source'],
      { status: Outcome; parked?: (typeof plan.parked)[number] }
    >();
    for (const r of plan.applied) outcome.set(r.source, { status: 'applied' });
    for (const r of plan.duplicates) outcome.set(r.source, { status: 'duplicate' });
    for (const p of plan.parked) outcome.set(p.source, { status: 'parked', parked: p });
    for (const { record, type, span } of traced.values()) {
      const result = outcome.get(record.source);
      if (!result) continue;
      processed.inc({ projection, type, status: result.status });
      processing.observe({ type }, durationMs / 1000);
      const finish = () => {
        options.logger.debug?.(
          {
            bus: 'event',
            type,
            handler: 'TaskViewProjection',
            stream_id: record.decoded.streamId,
            version: record.decoded.version,
            status: result.status,
            retries: attempt - 1,
            duration_ms: Math.round(durationMs * 10) / 10,
          },
          `${type} ${result.status}`,
        );
      };
      if (!span) {
        finish();
        continue;
      }
      span.setAttribute('cqrs.event.outcome', result.status);
      if (result.parked)
        recordError(span, Object.assign(new Error(result.parked.message), { code: result.parked.code }));
      withActiveSpan(span, finish); // the log line carries the event's trace id
      span.end();
    }
    if (plan.duplicates.length > 0) duplicates.inc({ projection }, plan.duplicates.length);
    for (const p of plan.parked) {
      options.logger.warn(
        {
          stream_id: p.streamId,
          version: p.version,
          reason: p.reason,
          error_code: p.code,
          topic: p.source.topic,
          partition: p.source.partition,
          offset: p.source.offset,
        },
        `event parked: ${p.message}`,
      );
    }
    // A record parked behind a gap may be the missing event that arrived late: heal such streams.
    const behindGaps = [
      ...new Set(plan.parked.flatMap((p) => (p.reason === 'PARKED_BEHIND' && p.streamId !== null ? [p.streamId] : []))),
    ];
    if (behindGaps.length > 0) {
      const healed = await options.writer
        .healGaps(behindGaps, (source) => options.decoder.decode(source))
        .catch((error: unknown) => {
          options.logger.warn(
            { err: error },
            'could not retry gap-parked streams now; the next record of them retries',
          );
          return [];
        });
      for (const h of healed)
        if (h.released > 0)
          options.logger.info(
            { stream_id: h.streamId, released: h.released, still_parked: h.stillParked },
            'gap closed by a late event',
          );
    }
  };
}

/**
 * The record's event type, and an `event.<Type>` span continuing the trace its headers carry.
 * Records without trace headers get no span: a span per untraced record would only cost.
 */
function startEventSpan(record: SequencedRecord<TaskEvent>, batchSize: number, projection: string): TracedRecord {
  const { source, decoded } = record;
  const type = decoded.ok ? decoded.event.type : (source.headers['eventType'] ?? 'unknown');
  const { traceparent, tracestate } = source.headers;
  if (!traceparent) return { record, type };
  const span = startSpan(`event.${type}`, {
    kind: SpanKind.CONSUMER,
    parent: contextFromCarrier({ traceparent, tracestate }),
    attributes: {
      'messaging.system': 'kafka',
      'messaging.destination.name': source.topic,
      'messaging.kafka.destination.partition': source.partition,
      'messaging.kafka.message.offset': Number(source.offset),
      // the records of its partition's batch (one read-model transaction, maybe with other partitions')
      'messaging.batch.message_count': batchSize,
      'cqrs.event.type': type,
      'cqrs.projection': projection,
      ...(decoded.streamId !== null ? { 'cqrs.stream.id': decoded.streamId } : {}),
      ...(decoded.version !== null ? { 'cqrs.event.version': decoded.version } : {}),
    },
  });
  return { record, type, span };
}
