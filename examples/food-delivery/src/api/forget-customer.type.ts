import { Field, ID, Int, ObjectType } from 'type-graphql';

/** What forgetCustomer did: the customer's key destroyed, their read-model copies erased. */
@ObjectType('ForgetCustomerResult')
export class ForgetCustomerResultType {
  @Field(() => ID)
  customerId!: string;

  @Field(() => Int, { description: 'Keys destroyed: 1 the first time, 0 when the customer had none left.' })
  keysDestroyed!: number;

  @Field(() => String, { description: 'Position of the SubjectForgotten event: the read models have applied it when the mutation answers.' })
  position!: string;
}
