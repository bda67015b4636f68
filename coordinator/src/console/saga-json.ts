// The console's JSON view of a saga: everything the pages show, with sizes in
// place of payload, output and metadata bytes (those are fetched one at a time,
// by an operator, through the step data endpoint).

import type { AttemptRecord, SagaSummary, SagaView, StepStatus } from '../domain/saga-types.js';

export interface StepJson {
  readonly index: number;
  readonly name: string;
  readonly participant: string;
  readonly action: string;
  readonly compensateAction: string;
  readonly dependsOn: readonly string[];
  readonly noCompensation: boolean;
  readonly executeStatus: StepStatus;
  readonly compensateStatus: StepStatus;
  /** TCC branches: the Confirm's status (executeStatus is the Try's, compensateStatus the Cancel's). */
  readonly confirmStatus: StepStatus | undefined;
  readonly payloadBytes: number;
  /** undefined = no output recorded. */
  readonly outputBytes: number | undefined;
  readonly metadata: readonly SizedEntry[];
  readonly nextAttemptAt: number | undefined;
  readonly attempts: readonly AttemptRecord[];
}

/** A metadata entry without its value: the key and the value's size in bytes. */
export interface SizedEntry {
  readonly key: string;
  readonly valueBytes: number;
}

export interface SagaJson {
  readonly sagaId: string;
  readonly name: string;
  readonly kind: SagaView['kind'];
  readonly phase: SagaView['phase'];
  readonly state: SagaView['state'];
  readonly forwardStatus: SagaView['forwardStatus'];
  readonly compensationStatus: SagaView['compensationStatus'];
  readonly graph: boolean;
  readonly deadlineMs: number;
  readonly metadata: readonly SizedEntry[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | undefined;
  readonly deadlineAt: number | undefined;
  readonly failedStep: string;
  readonly failureReason: string;
  readonly resolutionNote: string;
  readonly version: number;
  readonly steps: readonly StepJson[];
}

export function sagaJson(view: SagaView): SagaJson {
  return {
    sagaId: view.sagaId,
    name: view.name,
    kind: view.kind,
    phase: view.phase,
    state: view.state,
    forwardStatus: view.forwardStatus,
    compensationStatus: view.compensationStatus,
    graph: view.definition.graph,
    deadlineMs: view.definition.deadlineMs,
    metadata: sizedEntries(view.definition.metadata),
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
    finishedAt: view.finishedAt,
    deadlineAt: view.deadlineAt,
    failedStep: view.failedStep,
    failureReason: view.failureReason,
    resolutionNote: view.resolutionNote,
    version: view.version,
    steps: view.definition.steps.map((def, index) => {
      const rec = view.steps[index];
      return {
        index,
        name: def.name,
        participant: def.participant,
        action: def.action,
        compensateAction: def.compensateAction,
        // A sequence (no dependsOn anywhere) runs in order: each step after the previous.
        dependsOn: view.definition.graph ? def.dependsOn : index === 0 ? [] : [view.definition.steps[index - 1]?.name ?? ''],
        noCompensation: def.noCompensation,
        executeStatus: rec?.executeStatus ?? 'PENDING',
        compensateStatus: rec?.compensateStatus ?? 'PENDING',
        confirmStatus: rec?.confirmStatus,
        payloadBytes: def.payload.length,
        outputBytes: rec?.output?.length,
        metadata: sizedEntries(def.metadata),
        nextAttemptAt: rec?.nextAttemptAt,
        attempts: rec?.attempts ?? [],
      };
    }),
  };
}

/** The summary of a saga as the list shows it. */
export function summaryOf(view: SagaView): SagaSummary {
  return {
    sagaId: view.sagaId,
    name: view.name,
    kind: view.kind,
    state: view.state,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
    finishedAt: view.finishedAt,
    failedStep: view.failedStep,
    failureReason: view.failureReason,
  };
}

/** The step whose compensation failed (where a MANUAL saga is stuck), else the failed step. */
export function stuckStep(view: SagaView): string {
  const i = view.steps.findIndex((s) => s.compensateStatus === 'FAILED');
  return i >= 0 ? (view.definition.steps[i]?.name ?? view.failedStep) : view.failedStep;
}

function sizedEntries(m: Readonly<Record<string, string>>): SizedEntry[] {
  return Object.entries(m).map(([key, value]) => ({ key, valueBytes: Buffer.byteLength(value) }));
}
