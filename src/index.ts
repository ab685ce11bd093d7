export * from './event-store';
export * from './domain';
export * from './commands';
export * from './testing';
export * from './projections';
export * from './api';
export * from './handlers';
