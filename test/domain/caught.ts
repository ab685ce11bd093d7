/** The error `run` throws; fails the test when it throws nothing. */
export function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error to be thrown, but nothing was');
}

/** The error `run`'s promise rejects with; fails the test when it resolves. */
export async function rejection(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
