import { createSafelist, listedRequest } from '../../src/api/persisted-operations';

describe('createSafelist', () => {
  it('a manifest that could never work is a TypeError at start', () => {
    expect(() => createSafelist({})).toThrow(/safelist is empty/);
    expect(() => createSafelist({ abc: '' })).toThrow(/non-empty document/);
    expect(() => createSafelist([] as never)).toThrow(/manifest/);
  });

  it('finds listed documents by id and by exact text only', () => {
    const safelist = createSafelist({ id1: '{ a }' });
    expect(safelist.byId('id1')).toBe('{ a }');
    expect(safelist.byId('id2')).toBeUndefined();
    expect(safelist.has('{ a }')).toBe(true);
    expect(safelist.has('{a}')).toBe(false);
  });

  it('judges request bodies: listed text, an id alone (left to APQ), batches entry by entry', () => {
    const safelist = createSafelist({ id1: '{ a }' });
    expect(listedRequest(safelist, { query: '{ a }' })).toBe(true);
    expect(listedRequest(safelist, { query: '{ b }' })).toBe(false);
    expect(listedRequest(safelist, { extensions: { persistedQuery: { version: 1, sha256Hash: 'x' } } })).toBe(true);
    expect(listedRequest(safelist, [{ query: '{ a }' }, { query: '{ b }' }])).toBe(false);
    expect(listedRequest(safelist, { query: 42 })).toBe(false);
  });
});
