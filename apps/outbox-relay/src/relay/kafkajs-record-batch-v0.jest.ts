// See kafkajs-record-v0.jest.ts: the batch encoder, mapped by jest.config.cts.
import { createRecordBatchEncoder } from './kafkajs-record-encoder';

const original = require('kafkajs/src/protocol/recordBatch/v0');

module.exports = { ...original, RecordBatch: createRecordBatchEncoder(original.RecordBatch) };
