// A participant process for the tracing test, as an application would set it
// up: the OpenTelemetry SDK registered globally (W3C propagator, OTLP exporter
// from OTEL_*), then the SDK's ParticipantServer. Actions:
//   reserve / release   succeed;
//   charge              Execute fails (business failure), Compensate succeeds;
//   flaky               Execute errors (transient) while the file FLAKY_FILE exists.
// Prints {"listening":"host:port"} when ready; SIGTERM flushes spans and exits 0.

import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { ParticipantServer, TerminalError } from '@saga/sdk';
import { existsSync } from 'node:fs';

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'traced-participant' }),
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter())],
});
provider.register();

const flakyFile = process.env.FLAKY_FILE ?? '';
const server = new ParticipantServer({ host: '127.0.0.1', port: 0 });
const ok = (): undefined => undefined;
server.register('reserve', { execute: ok });
server.register('release', { compensate: ok });
server.register('charge', {
  execute: () => {
    throw new TerminalError('CARD_DECLINED', 'the card was declined');
  },
  compensate: ok,
});
server.register('flaky', {
  execute: () => {
    if (flakyFile !== '' && existsSync(flakyFile)) throw new Error('down for now');
  },
  compensate: ok,
});
const bound = await server.start();
process.stdout.write(`${JSON.stringify({ listening: `127.0.0.1:${bound.port}` })}\n`);
process.once('SIGTERM', () => {
  void server
    .close()
    .then(() => provider.shutdown())
    .then(() => process.exit(0));
});
