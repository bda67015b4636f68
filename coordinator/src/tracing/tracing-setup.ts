// The OpenTelemetry SDK of the coordinator, configured from the standard
// OTEL_* environment variables: off unless an OTLP endpoint is set
// (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT), or when
// OTEL_SDK_DISABLED=true / OTEL_TRACES_EXPORTER=none. The exporter (OTLP over
// HTTP) reads its endpoint, headers and timeout from the same variables, the
// batch processor OTEL_BSP_*, the sampler OTEL_TRACES_SAMPLER(_ARG), the
// resource OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. Nothing is
// registered globally: the tracer is handed to what records spans.

import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface TracingRuntime {
  readonly tracer: Tracer;
  /** Exports what is buffered, then stops. */
  close(): Promise<void>;
}

/** Whether OTEL_* turn tracing on. */
export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none') return false;
  return (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim() !== '';
}

/** The tracer, or undefined when the environment leaves tracing off. */
export function startTracing(env: NodeJS.ProcessEnv, version: string): TracingRuntime | undefined {
  if (!tracingEnabled(env)) return undefined;
  // OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win over the defaults.
  const resource = resourceFromAttributes({ 'service.name': 'saga-coordinator', 'service.version': version }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  return {
    tracer: provider.getTracer('saga-coordinator', version),
    close: () => provider.shutdown(),
  };
}
