import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { answerClientErrorsWithProblems, DEFAULT_MAX_HEADER_SIZE } from './http-server-errors';
import { completeDocument, ProblemDto } from './openapi';
import { ProblemDetailsFilter } from './problem-details.filter';
import { createValidationPipe } from './validation';

export interface HttpAppOptions {
  /** Service name, shown in the OpenAPI document. */
  service: string;
  version: string;
  description: string;
  /** Largest accepted JSON body, e.g. `64kb`. @default '64kb' */
  bodyLimit?: string;
  /**
   * Largest request line plus headers, in bytes; a larger request is answered 431 problem+json.
   * @default 32768 (twice Node's default)
   */
  maxHeaderSize?: number;
  /** Root module built for a config (`AppModule.forRoot(config)`); used instead of `module`. */
  dynamicModule?: DynamicModule;
  /** On shutdown, how long requests are still answered before the server stops listening. @default 1000 */
  shutdownDrainMs?: number;
}

/**
 * Builds a Nest HTTP app the way every service here needs it: pino logs, strict JSON bodies with
 * a size limit, validation, problem+json errors (also for a method a path does not have, 405, and
 * for requests Node cannot parse or whose headers are too large), `/openapi.json` and `/docs`,
 * graceful shutdown.
 */
export async function createHttpApp(module: Type<unknown>, options: HttpAppOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(options.dynamicModule ?? module, { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.useBodyParser('json', { limit: options.bodyLimit ?? '64kb', strict: true });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();
  // server.close() alone waits forever on keep-alive connections that stay busy, and resets idle
  // ones a request may be travelling on. So on shutdown every response closes its connection and
  // the server keeps answering for a moment before it closes (then waits for in-flight requests).
  let closing = false;
  app.use((_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => {
    if (closing) res.setHeader('connection', 'close');
    next();
  });
  const adapter = app.getHttpAdapter();
  const close = adapter.close.bind(adapter);
  adapter.close = async () => {
    closing = true;
    await new Promise((resolve) => setTimeout(resolve, options.shutdownDrainMs ?? 1000));
    return close();
  };
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  answerClientErrorsWithProblems(app.getHttpServer(), options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE);

  const document = completeDocument(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle(options.service).setDescription(options.description).setVersion(options.version).build(),
      { extraModels: [ProblemDto] },
    ),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json' });
  return app;
}
