import { applyDecorators, Injectable, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ApiForbiddenResponse } from '@nestjs/swagger';
import { DomainError } from '@cqrs/util';
import type { Principal } from './token-verifier';

/** 403 FORBIDDEN unless the authenticated caller holds the admin role (`AUTH_ADMIN_ROLE`). */
@Injectable()
export class AdminRoleGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const principal = context.switchToHttp().getRequest<{ principal?: Principal }>().principal;
    // SecurityModule's global guard ran first: no principal means a 401 was already thrown, or no SecurityModule.
    if (!principal) throw new Error('no principal on an admin request: is SecurityModule imported?');
    if (!principal.admin) throw new DomainError('FORBIDDEN', 'forbidden', 'This operation needs the admin role');
    return true;
  }
}

/**
 * Restricts a controller (or one route) to callers with the admin role: 401 without a valid
 * token (SecurityModule's guard), 403 FORBIDDEN problem+json for any other caller. Documents the 403.
 */
export const AdminOnly = () =>
  applyDecorators(
    UseGuards(AdminRoleGuard),
    ApiForbiddenResponse({ description: 'The caller does not hold the admin role (FORBIDDEN)' }),
  );
