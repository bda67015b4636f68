import type { SagaDefinition, SagaOptions, StartSagaOptions, StepDefinition, StepOptions } from './saga-definition.js';
import { validateSagaDefinition } from './saga-definition-validation.js';
import type { StartSagaResult } from './saga-record.js';

/** Starts a complete definition (a SagaClient). */
export interface SagaStarter {
  startSaga(definition: SagaDefinition, options?: StartSagaOptions): Promise<StartSagaResult>;
}

/**
 * Fluent saga definition:
 * `client.saga('place-order').step('create-order', {...}).options({...}).metadata({...}).start()`.
 * Each call returns the same builder; `definition()` returns a validated copy.
 */
export class SagaBuilder {
  private readonly steps: StepDefinition[] = [];
  private sagaOptions: SagaOptions = {};
  private sagaMetadata: Record<string, string> = {};

  constructor(
    private readonly starter: SagaStarter,
    private readonly name: string,
  ) {}

  /** Adds a step; steps run in the order added unless some step declares `dependsOn`. */
  step(name: string, options: StepOptions): this {
    this.steps.push({ ...options, name });
    return this;
  }

  /** Sets saga-wide options (merged over earlier calls). */
  options(options: SagaOptions): this {
    this.sagaOptions = { ...this.sagaOptions, ...options };
    return this;
  }

  /** Adds metadata passed to every step's participant (merged over earlier calls). */
  metadata(metadata: Readonly<Record<string, string>>): this {
    this.sagaMetadata = { ...this.sagaMetadata, ...metadata };
    return this;
  }

  /** The definition built so far; throws a TypeError naming the first invalid field. */
  definition(): SagaDefinition {
    const definition: SagaDefinition = {
      name: this.name,
      steps: this.steps.map((step) => ({ ...step })),
      options: { ...this.sagaOptions },
      metadata: { ...this.sagaMetadata },
    };
    validateSagaDefinition(definition);
    return definition;
  }

  /** Starts the saga (see {@link StartSagaOptions}). */
  async start(options: StartSagaOptions = {}): Promise<StartSagaResult> {
    return this.starter.startSaga(this.definition(), options);
  }

  /** Starts a definition derived from this builder's (the TCC builder adds its kind). */
  startWith(definition: SagaDefinition, options: StartSagaOptions): Promise<StartSagaResult> {
    return this.starter.startSaga(definition, options);
  }
}
