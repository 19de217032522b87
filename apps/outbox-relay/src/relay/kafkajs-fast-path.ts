import type NodeModule from 'node:module';
import {
  deferEncoderTails,
  encodeProduceRequests,
  groupMessagesPerPartition,
  type KafkajsEncoderClass,
  type KafkajsProduceRequests,
} from './kafkajs-produce-encoder';
import { createRecordBatchEncoder, encodeRecord, type RecordBatchEncoder } from './kafkajs-record-encoder';

/** Which of the replacements are in effect in this process. */
export interface KafkajsFastPath {
  /** Record and record-batch encoders (and with them, null header values). */
  records: boolean;
  /** Produce requests written once, into the buffer the socket sends. */
  produce: boolean;
  /** Linear grouping of a batch's messages by partition. */
  grouping: boolean;
}

const KAFKAJS = 'kafkajs/src/';
const RECORD_MODULE = `${KAFKAJS}protocol/recordBatch/record/v0`;
const RECORD_BATCH_MODULE = `${KAFKAJS}protocol/recordBatch/v0`;
const GROUPING_MODULE = `${KAFKAJS}producer/groupMessagesPerPartition`;
const SEND_MESSAGES_MODULE = `${KAFKAJS}producer/sendMessages`;

// Node's own module system, fetched at run time: the bundler rewrites static uses of createRequire.
const nodeModule = () =>
  (process as unknown as { getBuiltinModule(id: 'node:module'): typeof NodeModule }).getBuiltinModule('node:module');

/**
 * Puts the relay's replacements for parts of kafkajs 2.2.4 (its last release) in place:
 * - the record and record-batch encoders (kafkajs-record-encoder.ts), in Node's module cache
 *   before kafkajs loads its own (lazily, at the first produce request);
 * - the produce request body and kafkajs's Encoder (kafkajs-produce-encoder.ts), patched on the
 *   loaded modules (kafkajs looks the produce protocol up per request);
 * - the grouping of messages by partition, in the module cache: this one only takes effect when
 *   installed before kafkajs itself is loaded, which is why the app's entry imports
 *   `kafkajs-preload` first.
 * Installs once per process (the entry's preload, then the publisher asks what took effect).
 * With another kafkajs version nothing is replaced: the relay still works, slower, and a row
 * with a null header column fails to publish, loudly (it is retried, never skipped).
 */
export function installKafkajsFastPath(): KafkajsFastPath {
  return (installed ??= install(require.main?.filename ?? `${process.cwd()}/`));
}

let installed: KafkajsFastPath | undefined;

function install(from: string): KafkajsFastPath {
  const Module = nodeModule();
  const nodeRequire = Module.createRequire(from);
  const version = (nodeRequire('kafkajs/package.json') as { version: string }).version;
  if (version !== '2.2.4') return { records: false, produce: false, grouping: false };
  const path = (id: string) => nodeRequire.resolve(id);
  const cached = (id: string) => nodeRequire.cache[path(id)];
  const replace = (id: string, exports: unknown) => {
    const filename = path(id);
    const module = new Module(filename);
    module.filename = filename;
    module.loaded = true;
    module.exports = exports;
    nodeRequire.cache[filename] = module;
  };

  if (!cached(SEND_MESSAGES_MODULE) && !cached(GROUPING_MODULE)) replace(GROUPING_MODULE, groupMessagesPerPartition);
  const grouping = cached(GROUPING_MODULE)?.exports === groupMessagesPerPartition;

  if (!cached(RECORD_MODULE) && !cached(RECORD_BATCH_MODULE)) {
    const original = nodeRequire(RECORD_BATCH_MODULE) as { RecordBatch: RecordBatchEncoder };
    replace(RECORD_BATCH_MODULE, { ...original, RecordBatch: createRecordBatchEncoder(original.RecordBatch) });
    replace(RECORD_MODULE, encodeRecord);
  }
  const records = cached(RECORD_MODULE)?.exports === encodeRecord;

  deferEncoderTails(nodeRequire(`${KAFKAJS}protocol/encoder`) as KafkajsEncoderClass);
  encodeProduceRequests(nodeRequire(`${KAFKAJS}protocol/requests/produce`) as KafkajsProduceRequests);
  return { records, produce: true, grouping };
}
