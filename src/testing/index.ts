// eventfold/testing: helpers for a user's own tests. fast-check is an optional peer of the package; a
// missing one fails here with its name.
import { assertInstalled } from '../internal/optional-package';

assertInstalled('fast-check', 'eventfold/testing');

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
export { ManualClock } from './manual-clock';
export { verifyProcess, type ProcessScenario } from './verify-process';
