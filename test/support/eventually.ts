/**
 * Runs `check` until it stops throwing, or rethrows its last failure after `timeoutMs`: for state that
 * becomes visible a moment after the event a test waited for (e.g. the invocation log, written with the
 * reactor's next checkpoint flush). Each retry follows a short pause; the deadline bounds the loop.
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5_000, pauseMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
