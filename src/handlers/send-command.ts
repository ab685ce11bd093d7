import { v5 as uuidV5 } from 'uuid';
import { handleCommand, type CommandEnvironment, type CommandReceipt } from '../commands/handle-command';
import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import { ValidationError } from '../domain/errors';
import type { RecordedEvent } from '../event-store/event-store';
import { splitTenantStream, tenantOfEvent, tenantStreamName } from '../event-store/tenant-stream';
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

/**
 * The `send` of a reactor context: `handleCommand` with the derived id and the event as its cause.
 *
 * The command belongs to the event's tenant: its events carry the event's `metadata.tenantId` (unless
 * the request names one). When the event was written under tenancy (its stream is its tenant's, see
 * `tenantStreamName`), the command's stream is that tenant's too, and a request naming another
 * tenant is refused: a reactor can never carry one tenant's event into another tenant's streams.
 */
export function commandSender(
  environment: CommandEnvironment | undefined,
  reactor: string,
  event: Pick<RecordedEvent, 'id' | 'metadata' | 'streamName'>,
): <Command extends Message, Event extends Message, State>(
  aggregate: Aggregate<Command, Event, State>,
  request: ReactorCommand<Command>,
) => Promise<CommandReceipt<Event>> {
  return (aggregate, request) => {
    if (!environment) {
      return Promise.reject(new Error(`reactor "${reactor}" sent a command, but no command environment was given (option "commands")`));
    }
    let target: { streamName: string; tenantId: string | undefined };
    try {
      target = commandTarget(event, request);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const { streamName, tenantId } = target;
    const key = request.key ?? `${request.streamName}:${request.command.type}`;
    return handleCommand(environment, aggregate, {
      streamName,
      command: request.command,
      commandId: reactorCommandId(reactor, event.id, key),
      causedBy: { id: event.id, metadata: event.metadata },
      ...(request.userId !== undefined ? { userId: request.userId } : {}),
      ...(tenantId !== undefined ? { tenantId } : {}),
      ...(request.metadata !== undefined ? { metadata: request.metadata } : {}),
    });
  };
}

/**
 * The stream and tenant of a command caused by `event` (see {@link commandSender}); timers store theirs.
 *
 * @throws ValidationError when the request names another tenant or a stream that cannot be the tenant's.
 */
export function commandTarget(
  event: Pick<RecordedEvent, 'metadata' | 'streamName'>,
  request: ReactorCommand<Message>,
): { streamName: string; tenantId: string | undefined } {
  const streamName = tenantStream(event, request);
  const walledTenant = tenantOfEvent(event);
  const eventTenant = typeof event.metadata.tenantId === 'string' ? event.metadata.tenantId : undefined;
  return { streamName, tenantId: walledTenant ?? request.tenantId ?? eventTenant };
}

/**
 * Where a reactor's command goes: the stream as named, or, for an event written under tenancy, that
 * tenant's stream (a name already qualified for it, e.g. the event's own stream, stays as it is).
 *
 * @throws ValidationError when the request names another tenant or a stream that cannot be the tenant's.
 */
function tenantStream(event: Pick<RecordedEvent, 'metadata' | 'streamName'>, request: ReactorCommand<Message>): string {
  const walledTenant = tenantOfEvent(event);
  if (walledTenant === undefined) return request.streamName;
  if (request.tenantId !== undefined && request.tenantId !== walledTenant) {
    throw new ValidationError('reactor command', [
      { path: 'tenantId', message: `an event of tenant ${JSON.stringify(walledTenant)} cannot send commands for another tenant` },
    ]);
  }
  return splitTenantStream(request.streamName)?.tenantId === walledTenant ? request.streamName : tenantStreamName(request.streamName, walledTenant);
}
