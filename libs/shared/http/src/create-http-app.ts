import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { answerClientErrorsWithProblems, DEFAULT_MAX_HEADER_SIZE } from './http-server-errors';
import { splitManagementPort } from './management-server';
import { BEARER_SCHEME, completeDocument, ProblemDto } from './openapi';
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
  /**
   * Health, metrics and docs get a port of their own ({@link listenManagement} opens it); the
   * API port then serves only the API. @default false (one port serves everything)
   */
  managementPort?: boolean;
  /** The API takes bearer tokens: the document declares the scheme and the 401/429 answers, and the Swagger page can take a token. */
  bearerAuth?: boolean;
  /** Browser origins allowed to call the API (CORS): the Swagger page's, when it is on the management port. */
  corsOrigins?: string[];
  /** The API's base URL, for the document's `servers` (what the Swagger page calls). */
  apiUrl?: string;
}

/** Response headers a browser client may read (CORS). */
const CORS_EXPOSED_HEADERS = [
  'ETag',
  'Location',
  'Retry-After',
  'X-Correlation-Id',
  'Idempotent-Replayed',
  'Cache-Status',
  'X-Read-Your-Writes-Waited-Ms',
];

/**
 * Builds a Nest HTTP app the way every service here needs it: pino logs, strict JSON bodies with
 * a size limit, validation, problem+json errors (also for a method a path does not have, 405, and
 * for requests Node cannot parse or whose headers are too large), `/openapi.json` and `/docs`,
 * graceful shutdown.
 */
export async function createHttpApp(module: Type<unknown>, options: HttpAppOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(options.dynamicModule ?? module, {
    bufferLogs: true,
    bodyParser: false,
  });
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
  if (options.managementPort) splitManagementPort(app);
  if (options.corsOrigins?.length) {
    app.enableCors({ origin: options.corsOrigins, exposedHeaders: CORS_EXPOSED_HEADERS, maxAge: 600 });
  }
  answerClientErrorsWithProblems(app.getHttpServer(), options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE);

  const builder = new DocumentBuilder()
    .setTitle(options.service)
    .setDescription(options.description)
    .setVersion(options.version);
  if (options.apiUrl) builder.addServer(options.apiUrl);
  if (options.bearerAuth) {
    builder.addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'An OAuth 2.0 access token (JWT) of the configured OpenID Connect issuer.',
      },
      BEARER_SCHEME,
    );
  }
  const document = completeDocument(SwaggerModule.createDocument(app, builder.build(), { extraModels: [ProblemDto] }), {
    bearerAuth: options.bearerAuth,
  });
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    swaggerOptions: { persistAuthorization: true },
  });
  return app;
}
