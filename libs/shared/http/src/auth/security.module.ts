import { trace } from '@opentelemetry/api';
import {
  createParamDecorator,
  DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type CanActivate,
  type ExecutionContext,
  type OnModuleInit,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { ReadinessCheck } from '../readiness';
import type { AuthConfig } from './auth-config';
import { RateLimitedError, DevelopmentIssuerError } from './auth.errors';
import { isManagementPath } from './management-paths';
import { TokenVerifier, type Principal } from './token-verifier';

const AUTH_CONFIG = Symbol('AUTH_CONFIG');

interface AuthenticatedRequest {
  path: string;
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal;
}

const requestOf = (context: ExecutionContext) => context.switchToHttp().getRequest<AuthenticatedRequest>();

/** The authenticated caller of the current request (every API route has one). */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = requestOf(context).principal;
  if (!principal) throw new Error('no principal on an API request: is SecurityModule imported?');
  return principal;
});

/** Every API request carries a valid bearer token; management endpoints need none. */
@Injectable()
class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly verifier: TokenVerifier,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = requestOf(context);
    if (isManagementPath(request.path)) return true;
    const header = request.headers['authorization'];
    request.principal = await this.verifier.verify(Array.isArray(header) ? header.join(',') : header);
    if (this.config.AUTH_TRACE_SUBJECT) trace.getActiveSpan()?.setAttribute('enduser.id', request.principal.subject);
    return true;
  }
}

/** @nestjs/throttler per authenticated subject, answering 429 problem+json with Retry-After. */
@Injectable()
class SubjectThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const { principal, ip } = request as unknown as AuthenticatedRequest;
    return principal ? `sub:${principal.subject}` : `ip:${ip ?? ''}`;
  }

  // One budget per caller across every route (the default key also names the handler, which
  // would give each route a budget of its own).
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new RateLimitedError(Math.max(1, Math.ceil(detail.timeToBlockExpire)), detail.limit, detail.ttl);
  }
}

/**
 * Readiness of authentication: the issuer's keys were loaded. Once loaded they are cached (and
 * refreshed when a token names a new key), so an issuer outage alone does not take an app out of
 * service.
 */
export const issuerCheck = (verifier: TokenVerifier): ReadinessCheck => ({
  name: 'issuer',
  check: () => verifier.load().then(() => undefined),
});

/** Loads the issuer's keys at start-up: production with the development issuer fails here, before the app listens. */
@Injectable()
class IssuerKeysLoader implements OnModuleInit {
  private readonly logger = new Logger('Auth');

  constructor(private readonly verifier: TokenVerifier) {}

  async onModuleInit(): Promise<void> {
    try {
      await this.verifier.load();
    } catch (error) {
      if (error instanceof DevelopmentIssuerError) throw error;
      // Not fatal: the first request (or readiness) tries again; until then requests get 503.
      this.logger.warn(
        { err: error },
        'the token issuer’s keys could not be loaded yet; API requests answer 503 until they are',
      );
    }
  }
}

/**
 * Authentication and rate limiting of an API app: a global bearer-token guard (management paths
 * exempt) followed by a per-subject throttler. Exports the {@link TokenVerifier} (readiness).
 */
@Module({})
export class SecurityModule {
  static forRoot(config: AuthConfig): DynamicModule {
    const verifier = new TokenVerifier({
      issuer: config.OIDC_ISSUER_URL,
      audience: config.OIDC_AUDIENCE,
      jwksUrl: config.OIDC_JWKS_URL,
      algorithms: config.OIDC_ALGORITHMS,
      clockToleranceS: config.OIDC_CLOCK_TOLERANCE_S,
      rolesClaim: config.AUTH_ROLES_CLAIM,
      adminRole: config.AUTH_ADMIN_ROLE,
      cacheSize: config.AUTH_TOKEN_CACHE_SIZE,
      production: config.NODE_ENV === 'production',
    });
    // Limiting off (RATE_LIMIT_REQUESTS=0) means no throttler at all, not one that skips.
    const limited = config.RATE_LIMIT_REQUESTS > 0;
    return {
      module: SecurityModule,
      imports: limited
        ? [
            ThrottlerModule.forRoot({
              throttlers: [{ ttl: config.RATE_LIMIT_WINDOW_MS, limit: config.RATE_LIMIT_REQUESTS }],
              skipIf: (context) => context.getType() !== 'http' || isManagementPath(requestOf(context).path),
            }),
          ]
        : [],
      providers: [
        { provide: AUTH_CONFIG, useValue: config },
        { provide: TokenVerifier, useValue: verifier },
        IssuerKeysLoader,
        // In this order: the throttler counts per authenticated subject.
        { provide: APP_GUARD, useClass: BearerAuthGuard },
        ...(limited ? [{ provide: APP_GUARD, useClass: SubjectThrottlerGuard }] : []),
      ],
      exports: [TokenVerifier],
    };
  }
}
