import { Field, Float, ID, ObjectType } from 'type-graphql';

@ObjectType('MenuItem')
export class MenuItemType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Float)
  price!: number;
}

@ObjectType('Restaurant')
export class RestaurantType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  cuisine!: string;

  @Field(() => [MenuItemType])
  menu!: MenuItemType[];
}
