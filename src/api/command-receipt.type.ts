import { Field, ID, ObjectType } from 'type-graphql';
import type { CommandReceipt } from '../commands/handle-command';

/**
 * What a mutation answers once its events are durably appended. `revision` and `position` are strings
 * (a revision is a 64-bit integer; a position is opaque and sorts as a string).
 */
@ObjectType('CommandReceipt', { description: 'What a command did, answered once its events are durable.' })
export class CommandReceiptView {
  @Field(() => ID, { description: 'The command id: pass it again to retry safely.' })
  commandId!: string;

  @Field(() => String)
  streamName!: string;

  @Field(() => String, { description: "The stream's revision after the command (a 64-bit integer as a string)." })
  revision!: string;

  @Field(() => String, {
    nullable: true,
    description: "The global position of the command's last event; null only when nothing was ever appended.",
  })
  position!: string | null;

  @Field(() => ID)
  correlationId!: string;

  /** The GraphQL shape of a `handleCommand` receipt. */
  static from(receipt: CommandReceipt<unknown>): CommandReceiptView {
    return Object.assign(new CommandReceiptView(), {
      commandId: receipt.commandId,
      streamName: receipt.streamName,
      revision: receipt.revision.toString(),
      position: receipt.position ? receipt.position.toString() : null,
      correlationId: receipt.correlationId,
    });
  }
}
