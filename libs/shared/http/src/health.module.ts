import {
  Controller,
  DynamicModule,
  Get,
  Inject,
  Logger,
  Module,
  ModuleMetadata,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { Readiness, type ReadinessCheck, type ReadinessOptions } from './readiness';

export type { ReadinessCheck } from './readiness';

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

@ApiTags('health')
@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  /** Liveness: the process is up and its event loop answers. Never checks dependencies. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** Readiness: every dependency this app needs to serve answers now (up or down each, no details). */
  @Get('ready')
  @HealthCheck()
  async ready() {
    const verdict = await this.readiness.verdict();
    return this.health.check(
      Object.entries(verdict).map(([name, state]) => async () => {
        const session = this.indicators.check(name);
        return state === 'up' ? session.up() : session.down();
      }),
    );
  }
}

/** Options of {@link HealthModule.forRoot}: the app's checks (built from its own pools and clients) and how readiness runs them. */
export interface HealthModuleOptions extends ReadinessOptions {
  imports?: ModuleMetadata['imports'];
  inject?: unknown[];
  useFactory: (...deps: never[]) => ReadinessCheck[];
}

/**
 * `/health/live` and `/health/ready` (terminus), readiness made of the checks the app provides.
 * Readiness answers up/down per dependency, from one evaluation per `cacheMs`; the reasons are
 * logged (warn) when a dependency's state changes.
 */
@Module({})
export class HealthModule implements OnApplicationShutdown {
  constructor(@Inject(Readiness) private readonly readiness: Readiness) {}

  async onApplicationShutdown(): Promise<void> {
    await this.readiness.close();
  }

  static forRoot(options: HealthModuleOptions): DynamicModule {
    const { cacheMs, checkTimeoutMs } = options;
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), ...(options.imports ?? [])],
      controllers: [HealthController],
      providers: [
        {
          provide: READINESS_CHECKS,
          inject: (options.inject ?? []) as never[],
          useFactory: options.useFactory as (...deps: unknown[]) => ReadinessCheck[],
        },
        {
          provide: Readiness,
          inject: [READINESS_CHECKS],
          useFactory: (checks: ReadinessCheck[]) => {
            const logger = new Logger('Readiness');
            return new Readiness(
              checks,
              {
                warn: (details, message) => logger.warn(details, message),
                log: (details, message) => logger.log(details, message),
              },
              { cacheMs, checkTimeoutMs },
            );
          },
        },
      ],
    };
  }
}
