import { Controller, DynamicModule, Get, Inject, Module, ModuleMetadata } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';

/** One readiness dependency. `check` resolves (optionally with details) when healthy, rejects when not. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<Record<string, unknown> | void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

@ApiTags('health')
@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
  ) {}

  /** Liveness: the process is up and its event loop answers. Never checks dependencies. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** Readiness: every dependency this app needs to serve answers now. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check(
      this.checks.map((c) => async () => {
        const session = this.indicators.check(c.name);
        try {
          return session.up((await c.check()) ?? {});
        } catch (error) {
          return session.down({ message: error instanceof Error ? error.message : String(error) });
        }
      }),
    );
  }
}

/** `/health/live` and `/health/ready` (terminus), readiness made of the checks the app provides. */
@Module({})
export class HealthModule {
  static forRoot(options: {
    imports?: ModuleMetadata['imports'];
    inject?: unknown[];
    useFactory: (...deps: never[]) => ReadinessCheck[];
  }): DynamicModule {
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
      ],
    };
  }
}
