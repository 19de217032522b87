// See jest.config.cts: the patches installKafkajsFastPath() makes to the loaded kafkajs, applied
// to the copies in Jest's module registry.
import { deferEncoderTails, encodeProduceRequests } from './kafkajs-produce-encoder';

deferEncoderTails(require('kafkajs/src/protocol/encoder'));
encodeProduceRequests(require('kafkajs/src/protocol/requests/produce'));
