/** Whether a kafkajs error (or one it wraps or aggregates) is the broker's TOPIC_AUTHORIZATION_FAILED: an ACL is missing. */
export function isTopicAuthorizationError(error: unknown): boolean {
  const e = error as { type?: string; cause?: unknown; errors?: unknown[] } | undefined;
  if (!e || typeof e !== 'object') return false;
  return (
    e.type === 'TOPIC_AUTHORIZATION_FAILED' ||
    isTopicAuthorizationError(e.cause) ||
    (Array.isArray(e.errors) && e.errors.some(isTopicAuthorizationError))
  );
}
