import { MissingPackageError } from '../event-store/errors';

/**
 * Fails with {@link MissingPackageError} naming `name` when an optional package is not installed, before
 * anything tries to load it. Resolution starts from the kit's own folder, as the load would.
 *
 * @example
 * assertInstalled('pg', 'eventfold/postgres');
 */
export function assertInstalled(name: string, neededBy: string): void {
  try {
    require.resolve(name);
  } catch (error) {
    throw new MissingPackageError(name, neededBy, { cause: error });
  }
}
