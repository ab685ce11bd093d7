import { randomUUID } from 'node:crypto';
import type { Aggregate } from '../domain/aggregate';
import { ValidationError, type ValidationIssue } from '../domain/errors';
import type { Message } from '../domain/message';
import type { EventMetadata } from '../event-store/event-store';
import { commandFingerprint } from './command-identity';
import type { CommandEnvironment, CommandRequest } from './handle-command';

const MAX_ID_LENGTH = 255;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** A checked command request, with everything its events will carry. */
export interface CommandContext<Command extends Message> {
  readonly streamName: string;
  readonly command: Command;
  readonly commandId: string;
  readonly fingerprint: string;
  readonly correlationId: string;
  readonly baseMetadata: EventMetadata;
  readonly clock: () => Date;
}

/** Checks everything about the request up front, so that bad input never reaches the store. */
export function prepareCommand<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  request: CommandRequest<Command>,
): CommandContext<Command> {
  if (request === null || typeof request !== 'object') {
    throw new ValidationError('command request', [{ path: '', message: 'expected an object { streamName, command, … }' }]);
  }
  aggregate.parseStreamName(request.streamName);
  const command = aggregate.parseCommand(request.command);
  const issues: ValidationIssue[] = [];
  for (const key of ['commandId', 'correlationId', 'causationId', 'userId', 'tenantId'] as const) {
    const problem = idProblem(request[key]);
    if (problem) issues.push({ path: key, message: problem });
  }
  const { causedBy, metadata: extra } = request;
  if (causedBy !== undefined) {
    if (causedBy === null || typeof causedBy !== 'object' || typeof causedBy.id !== 'string' || !isPlainObject(causedBy.metadata)) {
      issues.push({ path: 'causedBy', message: 'expected a recorded event with an id and metadata' });
    }
  }
  if (extra !== undefined && !isPlainObject(extra)) issues.push({ path: 'metadata', message: 'expected a plain JSON object' });
  if (issues.length > 0) throw new ValidationError('command request', issues);

  const commandId = request.commandId ?? (environment.newId ?? randomUUID)();
  const generatedProblem = idProblem(commandId);
  if (generatedProblem) throw new ValidationError('generated command id', [{ path: 'commandId', message: generatedProblem }]);
  const triggerCorrelation = causedBy?.metadata.correlationId;
  const correlationId = request.correlationId ?? triggerCorrelation ?? causedBy?.id ?? commandId;
  const causationId = request.causationId ?? causedBy?.id ?? commandId;
  const baseMetadata: EventMetadata = {
    ...extra,
    correlationId,
    causationId,
    commandId,
    commandType: command.type,
    ...(request.userId !== undefined ? { userId: request.userId } : {}),
    ...(request.tenantId !== undefined ? { tenantId: request.tenantId } : {}),
  };
  return {
    streamName: request.streamName,
    command,
    commandId,
    fingerprint: commandFingerprint(request.streamName, command),
    correlationId,
    baseMetadata,
    clock: environment.clock ?? (() => new Date()),
  };
}

function idProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return `expected a string, got ${value === null ? 'null' : typeof value}`;
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_ID_LENGTH) return `is longer than ${MAX_ID_LENGTH} characters`;
  if (CONTROL_CHARACTERS.test(value)) return 'contains control characters';
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
