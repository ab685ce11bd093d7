export {
  deciderSpecification,
  SpecificationError,
  type DeciderSpecificationOutcome,
  type DeciderSpecificationWhen,
  type ErrorClass,
  type ExpectedError,
  type Given,
} from './decider-specification';
export { lineDiff } from './line-diff';
