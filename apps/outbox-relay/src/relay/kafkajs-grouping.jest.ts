// See jest.config.cts: the linear grouping installKafkajsFastPath() puts in Node's module cache.
import { groupMessagesPerPartition } from './kafkajs-produce-encoder';

module.exports = groupMessagesPerPartition;
