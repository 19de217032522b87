/**
 * Retries `check` until it stops throwing (or rejecting) and returns its result; after
 * `timeoutMs` it throws the last error, so a failure shows what was still wrong.
 */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
