// The app's one door to the kit: everything comes from eventfold's public entry point (in a project of
// your own this file is `export * from 'eventfold';`), never from its internals.
export * from '../../../src';
