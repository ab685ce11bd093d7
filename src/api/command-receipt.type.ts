import { Field, ID, ObjectType } from 'type-graphql';
import type { CommandReceipt } from '../commands/handle-command';
import { Position } from '../event-store/position';

/** Before every event: what `waitForPosition` and cursors treat as "nothing yet". */
const START = Position.of(0n, 0n);

/**
 * What a mutation answers once its events are durably appended. `revision` and `position` are strings
 * (a revision is a 64-bit integer; a position is opaque and sorts as a string).
 *
 * @example
 * @Mutation(() => CommandReceiptView) async placeOrder(...) { return CommandReceiptView.from(await handleCommand(...)); }
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
    description:
      "The global position of the stream's last event (opaque; sorts as a string). A command that appended nothing to a stream that does not exist answers the start position, before every event.",
  })
  position!: string;

  @Field(() => ID)
  correlationId!: string;

  /** The GraphQL shape of a `handleCommand` receipt. */
  static from(receipt: CommandReceipt<unknown>): CommandReceiptView {
    return Object.assign(new CommandReceiptView(), {
      commandId: receipt.commandId,
      streamName: receipt.streamName,
      revision: receipt.revision.toString(),
      position: (receipt.position ?? START).toString(),
      correlationId: receipt.correlationId,
    });
  }
}
