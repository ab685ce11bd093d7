/**
 * A reactor worker for the timer crash test. Arguments: a connection string (`sqlite:<path>` or
 * `postgres://…`) and a mode:
 * - `kill-before-progress`: SIGKILLs itself after the handler succeeded, before its timers and its record
 *   as handled are written;
 * - `kill-after-progress`: SIGKILLs itself right after that write committed, before any checkpoint;
 * - `run`: runs until the reactor has finished every stored event and the timers due have fired, then
 *   reports `{ kind: 'done', handlerRuns }` over IPC and waits for `'stop'`.
 * The handler picks its timer's key at random, as a careless handler might: only the handled record
 * (not the version rule) can keep a redelivered event from scheduling twice.
 */
import { randomUUID } from 'node:crypto';
import { connectEventStore } from '../../../src/event-store/connect';
import { defineReactor, ReactorRunner, type TimerStore } from '../../../src/handlers';
import type { TimerStoreHost } from '../../../src/handlers/timer-runtime';
import { reminder } from './reminder';

export const REMINDER_REACTOR = 'reminders';

async function main(): Promise<void> {
  const [connection, mode] = process.argv.slice(2);
  const store = await connectEventStore(connection ?? '');
  let handlerRuns = 0;
  const reactor = defineReactor({
    name: REMINDER_REACTOR,
    filter: { eventTypes: ['ReminderRequested'] },
    handle: (event, context) => {
      handlerRuns++;
      context.schedule(reminder, { streamName: `reminder-${event.streamName}`, command: { type: 'Remind', data: {} } }, { afterMs: 0, key: randomUUID() });
    },
  });
  const inner = await (store as unknown as TimerStoreHost).openTimerStore();
  // The fault is injected around the store's atomic write, at the two moments the test is about.
  const timers = new Proxy(inner, {
    get(target, property, receiver) {
      if (property !== 'progressWriter') {
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
      return (state: Parameters<NonNullable<TimerStore['progressWriter']>>[0]) => {
        const write = target.progressWriter?.(state);
        if (!write) throw new Error('the timer store and the reactor state store do not share a database');
        return async (...args: Parameters<typeof write>) => {
          if (mode === 'kill-before-progress') await die();
          await write(...args);
          if (mode === 'kill-after-progress') await die();
        };
      };
    },
  });
  const runner = await ReactorRunner.start({
    store,
    reactors: [reactor],
    aggregates: [reminder],
    timers,
    // No checkpoint is written before the kill: progress is only what the timers' transaction wrote.
    checkpointIntervalMs: 60_000,
  });
  process.on('message', (message) => {
    if (message === 'stop') void runner.stop().then(() => store.close()).then(() => process.exit(0));
  });
  if (mode !== 'run') return;
  const head = await store.headPosition();
  if (head) await runner.waitForPosition(REMINDER_REACTOR, head, { timeoutMs: 20_000 });
  await runner.timersSettled();
  process.send?.({ kind: 'done', handlerRuns });
}

async function die(): Promise<never> {
  process.kill(process.pid, 'SIGKILL');
  return new Promise<never>(() => undefined);
}

main().catch((error: unknown) => {
  process.stderr.write(`timer crash child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
