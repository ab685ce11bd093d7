import { bodyLimitBytes, bodyTooLargeBody } from '../../src/api/http-error-bodies';

describe('HTTP error bodies', () => {
  it('reads body limits the way body-parser does', () => {
    expect(bodyLimitBytes(2048)).toBe(2048);
    expect(bodyLimitBytes('100kb')).toBe(102_400);
    expect(bodyLimitBytes('1.5MB')).toBe(1_572_864);
    expect(bodyLimitBytes(' 10 ')).toBe(10);
    expect(() => bodyLimitBytes('a lot')).toThrow("limits.bodyLimit \"a lot\" is not a size like '100kb'");
  });

  it('names the limit a body exceeded', () => {
    expect(bodyTooLargeBody('1kb')).toEqual({
      errors: [{ message: 'the request body exceeds the limit of 1kb', extensions: { code: 'BAD_USER_INPUT', limit: 'bodySize', max: '1kb' } }],
    });
  });
});
