import { randomBytes, randomUUID } from 'node:crypto';
import type { KeyStore, SubjectKey } from './key-store';
import { checkSubjectId } from './subject';

/**
 * Keys in this process's memory, for tests and the in-memory store: they die with the process, and so
 * does everything they encrypted.
 *
 * @example
 * const store = protectPersonalData(new InMemoryEventStore(), { events: [orderEvents], keys: new InMemoryKeyStore() });
 */
export class InMemoryKeyStore implements KeyStore {
  private readonly bySubject = new Map<string, SubjectKey>();
  private readonly byId = new Map<string, { readonly subjectId: string; readonly key: Uint8Array }>();

  keyFor(subjectId: string): Promise<SubjectKey> {
    checkSubjectId(subjectId, 'keyFor');
    let current = this.bySubject.get(subjectId);
    if (!current) {
      current = { keyId: randomUUID(), key: randomBytes(32) };
      this.bySubject.set(subjectId, current);
      this.byId.set(current.keyId, { subjectId, key: current.key });
    }
    return Promise.resolve(current);
  }

  findKeys(keyIds: readonly string[]): Promise<ReadonlyMap<string, Uint8Array>> {
    const found = new Map<string, Uint8Array>();
    for (const keyId of keyIds) {
      const entry = this.byId.get(keyId);
      if (entry) found.set(keyId, entry.key);
    }
    return Promise.resolve(found);
  }

  destroy(subjectId: string): Promise<number> {
    checkSubjectId(subjectId, 'destroy');
    const current = this.bySubject.get(subjectId);
    if (!current) return Promise.resolve(0);
    this.bySubject.delete(subjectId);
    // Not zeroed: an append in flight may still hold the array, and must not encrypt with zeros.
    this.byId.delete(current.keyId);
    return Promise.resolve(1);
  }
}
