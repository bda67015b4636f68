// Validation of the settings that bound what the coordinator sends and keeps:
// the largest event it writes to the outbox without NATS connected, the
// refusals before an event becomes a dead letter, and the distinct label
// values of its metrics. Returns the first problem (setting and what is
// wrong), or undefined.

/** The parts of the configuration these settings live in. */
export interface BoundSettingsHost {
  readonly events: { readonly outbox: { readonly maxPayloadBytes: unknown; readonly deadLetterAfter: unknown } };
  readonly metrics: { readonly maxLabelValues: unknown };
}

/** NATS refuses a max_payload above 64 MiB. */
const NATS_MAX_PAYLOAD_LIMIT = 64 * 1024 * 1024;

export function validateBoundSettings(c: BoundSettingsHost): { setting: string; problem: string } | undefined {
  const checks: [string, unknown, number][] = [
    ['events.outbox.maxPayloadBytes', c.events.outbox.maxPayloadBytes, NATS_MAX_PAYLOAD_LIMIT],
    ['events.outbox.deadLetterAfter', c.events.outbox.deadLetterAfter, 1000],
    ['metrics.maxLabelValues', c.metrics.maxLabelValues, 100_000],
  ];
  for (const [setting, v, max] of checks) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
      return { setting, problem: `must be an integer from 1 to ${max}, not ${JSON.stringify(v)}` };
    }
  }
  return undefined;
}
