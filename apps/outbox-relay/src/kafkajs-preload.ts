// Imported first by main.ts, so the relay's kafkajs replacements are in Node's module cache before
// any module of the app loads kafkajs (see relay/kafkajs-fast-path.ts).
import { installKafkajsFastPath } from './relay/kafkajs-fast-path';

installKafkajsFastPath();
