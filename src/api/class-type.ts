/** A class (constructor), as type-graphql takes resolvers and types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ClassType<T = any> = new (...args: any[]) => T;
