// The Kafka client factory lives in ../kafka (also `@cqrs/messaging/kafka`, for apps that only produce).
export * from '../kafka/kafka-client';
