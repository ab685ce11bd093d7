import type { ApiContext, ApiUser } from './api-context';
import { ForbiddenError, UnauthenticatedError } from './errors';

/**
 * Who may call a generated operation. `public: true` lets anonymous callers in; otherwise a verified
 * user is needed, holding at least one of `roles` when given.
 *
 * @example
 * deliveries.mutation({ ..., access: { roles: ['courier'] } });
 */
export interface AccessRule {
  readonly public?: boolean;
  /** Any one of these roles is enough. */
  readonly roles?: readonly string[];
}

/**
 * Checks an {@link AccessRule} against the caller.
 *
 * @example
 * const user = requireAccess(context, { roles: ['admin'] });
 * @throws UnauthenticatedError without a user (unless public), ForbiddenError without a needed role.
 */
export function requireAccess(context: ApiContext, rule: AccessRule = {}): ApiUser | undefined {
  const user = context.user;
  if (!user) {
    if (rule.public) return undefined;
    throw new UnauthenticatedError();
  }
  if (rule.roles && rule.roles.length > 0 && !rule.roles.some((role) => user.roles.includes(role))) {
    throw new ForbiddenError(`needs one of the roles: ${rule.roles.join(', ')}`);
  }
  return user;
}
