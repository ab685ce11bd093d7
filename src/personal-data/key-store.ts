/**
 * A data subject's current key: a 256-bit AES key and the id stored (in the clear) with what it
 * encrypts, so that reads find the key that sealed each value.
 */
export interface SubjectKey {
  readonly keyId: string;
  /** 32 bytes. */
  readonly key: Uint8Array;
}

/**
 * Where the per-subject keys of crypto-shredding live. The kit ships one table per backend
 * (`SqliteKeyStore`, `PostgresKeyStore`) and {@link InMemoryKeyStore}; implement this interface to keep
 * keys in your KMS (e.g. store there, wrapped, what `keyFor` creates, and delete it in `destroy`).
 *
 * @example
 * const store = protectPersonalData(events, { events: [orderEvents], keys: new InMemoryKeyStore() });
 */
export interface KeyStore {
  /** The subject's current key, created if it has none (after `destroy`, a new one with a new id). */
  keyFor(subjectId: string): Promise<SubjectKey>;
  /** The keys of these ids that still exist; a destroyed or unknown id is absent from the map. Throws when the store cannot answer (never "absent" for "unreachable"). */
  findKeys(keyIds: readonly string[]): Promise<ReadonlyMap<string, Uint8Array>>;
  /**
   * Destroys every key of the subject, for good: once it resolves, no copy may remain readable in the
   * key store's files (see each implementation). Resolves to how many keys it destroyed.
   */
  destroy(subjectId: string): Promise<number>;
}

/** Longest subject id a key store accepts. */
export const MAX_SUBJECT_ID_LENGTH = 200;

/** A store whose database also keeps the subjects' keys (SQLite, PostgreSQL): the backend opens them beside its event tables. */
export interface KeyStoreHost {
  openKeyStore(): Promise<KeyStore>;
}

/** Whether a store keeps keys in its own database. */
export function isKeyStoreHost(store: unknown): store is KeyStoreHost {
  return typeof (store as Partial<KeyStoreHost> | undefined)?.openKeyStore === 'function';
}
