import { v5 as uuidV5 } from 'uuid';
import { handleCommand, type CommandEnvironment, type CommandReceipt } from '../commands/handle-command';
import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { RecordedEvent } from '../event-store/event-store';
import type { ReactorCommand } from './reactor';

/** Fixed forever: changing it would give redelivered events new command ids and issue commands twice. */
const REACTOR_COMMAND_NAMESPACE = '6f1d0f5a-3c0e-4f3b-9d6e-2f7f4c8b9a11';

/**
 * The command id a reactor uses for a command caused by an event: UUID v5 of the reactor, the event id
 * and the command's key (default: its stream and type). The same event always gives the same id, in
 * any process, so `handleCommand` appends it once however often the event is delivered.
 *
 * @example
 * reactorCommandId('assign-driver', event.id, 'delivery-7:AssignDriver');
 */
export function reactorCommandId(reactor: string, eventId: string, key: string): string {
  return uuidV5(`${reactor}\u0000${eventId}\u0000${key}`, REACTOR_COMMAND_NAMESPACE);
}

/** The `send` of a reactor context: `handleCommand` with the derived id and the event as its cause. */
export function commandSender(
  environment: CommandEnvironment | undefined,
  reactor: string,
  event: Pick<RecordedEvent, 'id' | 'metadata'>,
): <Command extends Message, Event extends Message, State>(
  aggregate: Aggregate<Command, Event, State>,
  request: ReactorCommand<Command>,
) => Promise<CommandReceipt<Event>> {
  return (aggregate, request) => {
    if (!environment) {
      return Promise.reject(new Error(`reactor "${reactor}" sent a command, but no command environment was given (option "commands")`));
    }
    const key = request.key ?? `${request.streamName}:${request.command.type}`;
    return handleCommand(environment, aggregate, {
      streamName: request.streamName,
      command: request.command,
      commandId: reactorCommandId(reactor, event.id, key),
      causedBy: { id: event.id, metadata: event.metadata },
      ...(request.userId !== undefined ? { userId: request.userId } : {}),
      ...(request.tenantId !== undefined ? { tenantId: request.tenantId } : {}),
      ...(request.metadata !== undefined ? { metadata: request.metadata } : {}),
    });
  };
}
