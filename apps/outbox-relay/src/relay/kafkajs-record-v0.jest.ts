// Jest keeps its own module registry instead of Node's cache, so jest.config.cts maps kafkajs's
// record encoder here: the same replacement installKafkajsFastPath() makes in the running app.
import { encodeRecord } from './kafkajs-record-encoder';

module.exports = encodeRecord;
