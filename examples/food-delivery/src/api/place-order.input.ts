import { Field, ID, InputType, Int } from 'type-graphql';

@InputType('OrderItemInput')
export class OrderItemInput {
  @Field(() => ID)
  menuItemId!: string;

  @Field(() => Int, { description: '1 to 100.' })
  quantity!: number;
}

/**
 * What the customer sends. Checked by the order's command schema (one set of rules, with the failing
 * fields named), not by decorators here: the input only carries the data to the command.
 */
@InputType('PlaceOrderInput')
export class PlaceOrderInput {
  @Field(() => ID, { description: 'Chosen by the client (a UUID), so that the order can be watched before it exists.' })
  orderId!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => ID)
  restaurantId!: string;

  @Field(() => [OrderItemInput], { description: 'At least one.' })
  items!: OrderItemInput[];

  @Field(() => String, { nullable: true, description: "The customer's name: personal data, encrypted in the store and erased by forgetCustomer." })
  customerName?: string | null;

  @Field(() => String, { nullable: true, description: 'Where to deliver: personal data, encrypted in the store and erased by forgetCustomer.' })
  deliveryAddress?: string | null;
}
