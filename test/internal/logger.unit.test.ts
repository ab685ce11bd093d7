import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { defineReactor, NonRetryableError, ReactorRunner, type HttpFunctionOptions, type ReactorLogger, type ReactorRunnerOptions } from '../../src/handlers';
import type { ApiLogger, ApiOptions } from '../../src/api';
import { silentLogger, type Logger } from '../../src';
import { withFields } from '../../src/internal/logger';
import { appendEach, until } from '../handlers/support/reactor-fixtures';

/*
 * pino is not installed here (no installs allowed in this workspace), so this is pino's own logger
 * type, copied from its pino.d.ts (`LogFn`, and the levels of `BaseLogger`), with a recording fake.
 * If `Logger` stops accepting this shape, a real `pino()` stops fitting too.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- pino's declaration, copied as it is */
interface PinoLogFn {
  <T extends object>(obj: T, msg?: string, ...args: any[]): void;
  (obj: unknown, msg?: string, ...args: any[]): void;
  (msg: string, ...args: any[]): void;
}
/* eslint-enable @typescript-eslint/no-explicit-any */
interface PinoBaseLogger {
  level: string;
  fatal: PinoLogFn;
  error: PinoLogFn;
  warn: PinoLogFn;
  info: PinoLogFn;
  debug: PinoLogFn;
  trace: PinoLogFn;
  silent: PinoLogFn;
  child(bindings: Record<string, unknown>): PinoBaseLogger;
}

interface Line {
  readonly level: string;
  readonly args: unknown[];
}

function fakePino(lines: Line[] = []): PinoBaseLogger & { lines: Line[] } {
  const at =
    (level: string): PinoLogFn =>
    (...args: unknown[]) => {
      lines.push({ level, args });
    };
  return {
    lines,
    level: 'info',
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    silent: at('silent'),
    child: () => fakePino(lines),
  };
}

const runners: ReactorRunner[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
});

describe('the one logger interface', () => {
  it('takes a pino logger as it is, wherever the kit takes a logger', () => {
    const pino = fakePino();
    // Each line is a compile-time check: tsc fails on the first that does not fit.
    const logger: Logger = pino;
    const reactorLogger: ReactorLogger = pino;
    const apiLogger: ApiLogger = pino;
    const runnerOptions: Pick<ReactorRunnerOptions, 'logger'> = { logger: pino };
    const httpOptions: Pick<HttpFunctionOptions, 'logger'> = { logger: pino };
    const apiOptions: Pick<ApiOptions, 'logger'> = { logger: pino };
    expect([logger, reactorLogger, apiLogger, runnerOptions.logger, httpOptions.logger, apiOptions.logger].every((each) => each === pino)).toBe(true);
  });

  it('hands a pino logger its (fields, message) calls from the reactor runner and from handlers', async () => {
    const store = new InMemoryEventStore();
    const pino = fakePino();
    const reactor = defineReactor({
      name: 'mailer',
      filter: { streamPrefixes: ['order-'] },
      handle: (_event, context) => {
        context.logger.info({ to: 'a@example.com' }, 'mail sent');
        context.logger.info('no fields');
        throw new NonRetryableError('mailbox does not exist');
      },
    });
    runners.push(await ReactorRunner.start({ store, reactors: [reactor], logger: pino, checkpointIntervalMs: 5, partitions: { count: 1 } }));
    await appendEach(store, [{ streamName: 'order-1', type: 'Placed' }]);
    await until(() => pino.lines.some((line) => line.level === 'warn'), 'the parked event to be logged');

    const [mailSent, noFields] = pino.lines.filter((line) => line.level === 'info');
    expect(mailSent!.args).toEqual([expect.objectContaining({ to: 'a@example.com', reactor: 'mailer', streamName: 'order-1', attempt: 1 }), 'mail sent']);
    expect(noFields!.args).toEqual([expect.objectContaining({ reactor: 'mailer', streamName: 'order-1' }), 'no fields']);
    const parked = pino.lines.find((line) => line.level === 'warn')!;
    expect(parked.args).toEqual([expect.objectContaining({ reactor: 'mailer', error: expect.objectContaining({ code: 'NON_RETRYABLE' }) }), 'event parked']);
  });

  it('adds fields to both call shapes, a call’s own fields winning', () => {
    const pino = fakePino();
    const child = withFields(pino, { reactor: 'r', attempt: 1 });
    child.warn({ attempt: 2, eventId: 'e' }, 'retrying');
    child.error('failed');
    expect(pino.lines).toEqual([
      { level: 'warn', args: [{ reactor: 'r', attempt: 2, eventId: 'e' }, 'retrying'] },
      { level: 'error', args: [{ reactor: 'r', attempt: 1 }, 'failed'] },
    ]);
  });

  it('is silent by default: a runner given no logger parks an event without a word on the console', async () => {
    const spies = (['debug', 'info', 'warn', 'error', 'log'] as const).map((level) => jest.spyOn(console, level).mockImplementation(() => undefined));
    try {
      const store = new InMemoryEventStore();
      const reactor = defineReactor({
        name: 'quiet',
        filter: { streamPrefixes: ['order-'] },
        handle: (_event, context) => {
          context.logger.warn('from the handler');
          throw new NonRetryableError('no');
        },
      });
      const runner = await ReactorRunner.start({ store, reactors: [reactor], checkpointIntervalMs: 5, partitions: { count: 1 } });
      runners.push(runner);
      await appendEach(store, [{ streamName: 'order-1', type: 'Placed' }]);
      await until(async () => (await runner.listParked()).items.length === 1, 'the event to be parked');
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
      silentLogger.error({ a: 1 }, 'nothing');
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
