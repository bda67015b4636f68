#!/usr/bin/env node
// Process entry point: load and validate the configuration once, start the
// coordinator, print the ready line on stdout, drain gracefully on SIGTERM.

// First: V8 flags are set before the other modules load (startup/v8-flags.ts says why).
import { appliedV8Flags } from './startup/apply-v8-flags.js';
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config/config.js';
import { CoordinatorApp } from './coordinator-app.js';
import { crashPointFromEnv, messageCrashPointFromEnv } from './crash-points.js';
import { checkStartup, StartupError } from './startup/startup-checks.js';
import { DatabaseInUseError } from './store/sqlite/owner-lock.js';
import { startTracing } from './tracing/tracing-setup.js';

/** How long the calls in hand may take to be answered once the log failed. */
const FATAL_ANSWER_BOUND_MS = 2000;
/** Reported as service.version of spans. */
const COORDINATOR_VERSION = '0.1.0';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
    await checkStartup(config);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Logs go to stderr; stdout carries only the ready line.
  const logger = pino({ level: config.logLevel, base: { service: 'saga-coordinator' } }, pino.destination(2));
  const tracing = startTracing(process.env, COORDINATOR_VERSION);
  let app;
  try {
    app = await CoordinatorApp.start({
      config,
      logger,
      tracer: tracing?.tracer,
      crashPoint: crashPointFromEnv(process.env, logger),
      messageCrashPoint: messageCrashPointFromEnv(process.env, logger),
    });
  } catch (err) {
    // Another coordinator owns the database: one line, exit 2 (like a configuration error).
    if (err instanceof DatabaseInUseError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Fail-stop: nothing is written after the failure; the server stops taking
  // calls and answers those in hand (UNAVAILABLE for the writes refused), within
  // a bound, then the process exits 1.
  app.onFatal(() => {
    app.stopServing(FATAL_ANSWER_BOUND_MS).then(
      () => process.exit(1),
      () => process.exit(1),
    );
  });
  // Every bound address, so a supervisor that asked for port 0 learns the ports the OS chose.
  process.stdout.write(`${JSON.stringify({ listening: app.address, metrics: app.events.metricsAddress, console: app.console?.address })}\n`);
  logger.info({ address: app.address, database: config.database.url === '' ? config.database.path : 'postgresql (database.url)', metrics: app.events.metricsAddress, v8Flags: appliedV8Flags }, 'coordinator ready');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'signal received');
    // Spans buffered for export are flushed after the drain (bounded by OTEL_EXPORTER_OTLP_TIMEOUT).
    app
      .close()
      .then(() => tracing?.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`saga-coordinator failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
