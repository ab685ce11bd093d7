import { resolveApiOptions, type ApiOptions } from '../../src/api/api-options';
import { DEFAULT_API_LIMITS } from '../../src/api/limits';
import { silentLogger } from '../../src/internal/logger';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { InMemoryReadModelStore } from '../../src/projections/in-memory-read-model-store';

const required: ApiOptions = { eventStore: new InMemoryEventStore(), readModels: new InMemoryReadModelStore(), resolvers: [], auth: { mode: 'off' } };

describe('resolveApiOptions', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveApiOptions({ ...required, development: false });
    expect(resolved).toEqual({
      logger: silentLogger,
      development: false,
      introspection: false,
      limits: DEFAULT_API_LIMITS,
      path: '/graphql',
      projections: [],
      runProjections: true,
      auditRoles: ['admin', 'auditor'],
      waitTimeoutMs: 5_000,
      keepAliveMs: 12_000,
      tenancy: { mode: 'off', operatorRoles: [] },
      safelist: undefined,
      automaticPersistedQueries: true,
    });
  });

  it('checks a safelist manifest at start and indexes it', () => {
    const resolved = resolveApiOptions({ ...required, safelist: { id1: '{ a }' } });
    expect(resolved.safelist?.byId('id1')).toBe('{ a }');
    expect(() => resolveApiOptions({ ...required, safelist: {} })).toThrow(TypeError);
  });

  it('turns tenancy on only when asked, and refuses a mode it does not know', () => {
    expect(resolveApiOptions({ ...required, tenancy: { mode: 'required', operatorRoles: ['ops'] } }).tenancy).toEqual({ mode: 'required', operatorRoles: ['ops'] });
    expect(() => resolveApiOptions({ ...required, tenancy: { mode: 'on' as 'required' } })).toThrow(TypeError);
  });

  it('turns introspection on with development mode unless told otherwise', () => {
    expect(resolveApiOptions({ ...required, development: true }).introspection).toBe(true);
    expect(resolveApiOptions({ ...required, development: true, introspection: false }).introspection).toBe(false);
  });

  it('refuses a path without a leading slash and a limit that is not a positive integer', () => {
    expect(() => resolveApiOptions({ ...required, path: 'graphql' })).toThrow('path must start with "/"');
    expect(() => resolveApiOptions({ ...required, limits: { maxDepth: 0 } })).toThrow('limits.maxDepth must be a positive integer');
  });
});
