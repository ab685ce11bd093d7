export {
  deciderSpecification,
  SpecificationError,
  type DeciderSpecificationOutcome,
  type DeciderSpecificationWhen,
  type ErrorClass,
  type ExpectedError,
  type Given,
} from './decider-specification';
export { verifyReactor, type IssuedEvent, type ReactorScenario, type ReactorVerification, type ScenarioEvent } from './verify-reactor';
