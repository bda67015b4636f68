// The `saga` command line: global flags, the commands, and the exit code
// (0 ok, 1 a call failed, 2 usage). Built on the SDK's clients.

import { Command, CommanderError, Option } from 'commander';
import { SagaClientError, type SagaClient, type SagaState, type SagaSummary } from '@saga/sdk';
import { setTimeout as delay } from 'node:timers/promises';
import { CheckFailedError, EXIT_OK, EXIT_USAGE, UsageError, describeFailure } from './cli-errors.js';
import { CommandContext } from './command-context.js';
import { positiveInteger, type GlobalFlags } from './connection-options.js';
import { readDefinitionFile } from './definition-file.js';
import { collectUpTo } from './collect-pages.js';
import { messageListFilter, parseInstant, parseStates, type MessageListFlags } from './list-filters.js';
import { HealthCheckError } from './health-client.js';
import { createOutput } from './output.js';
import {
  renderDeadLetters,
  renderManualQueue,
  renderMessage,
  renderMessageSummaries,
  renderSaga,
  renderSnapshotLine,
  renderStartResult,
  renderSummaries,
} from './saga-views.js';

export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

/** ListSagas and ListMessages pages are at most this big. */
const MAX_PAGE = 1000;
/** Pause between health checks while --wait lasts. */
const HEALTH_POLL_MS = 250;

/** Runs the CLI on `argv` (as process.argv: node, script, args…); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with exitCode 0; everything else commander refuses is usage.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const failure = describeFailure(err);
    const json = program.opts<GlobalFlags>().json === true;
    io.stderr.write(json ? `${JSON.stringify(failure.json)}\n` : `saga: ${failure.message}\n`);
    return failure.exitCode;
  }
}

function buildProgram(io: CliIo): Command {
  const program = new Command('saga')
    .description('Operate a saga coordinator: inspect, start, abort, retry and resolve sagas; read transactional messages.')
    .addOption(new Option('--address <host:port>', 'coordinator address').env('SAGA_ADDRESS').default('127.0.0.1:50051'))
    .addOption(new Option('--token <token>', 'sent as "authorization: Bearer <token>"').env('SAGA_TOKEN'))
    .option('--tls-ca <file>', 'PEM CA bundle that signs the coordinator certificate (turns TLS on)')
    .option('--tls-cert <file>', 'PEM client certificate for mTLS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--timeout <ms>', 'deadline of each call', '10000')
    .option('--json', 'machine output: JSON on stdout, errors as JSON on stderr')
    .showHelpAfterError('(saga --help lists the commands and flags)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const run =
    <A extends unknown[]>(body: (ctx: CommandContext, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const flags = program.opts<GlobalFlags>();
      const ctx = new CommandContext(flags, createOutput({ json: flags.json === true, stream: io.stdout, env: io.env }));
      try {
        await body(ctx, ...args);
      } finally {
        ctx.close();
      }
    };

  program
    .command('health')
    .description('ask the gRPC health service; exit 1 unless SERVING')
    .option('--service <name>', 'service to ask about ("" = the whole server)', '')
    .option('--wait <ms>', 'keep asking until SERVING or this long has passed')
    .action(
      run(async (ctx, opts: { service: string; wait?: string }) => {
        const waitMs = opts.wait === undefined ? 0 : positiveInteger('--wait', opts.wait);
        const health = ctx.healthClient();
        const until = Date.now() + waitMs;
        let status: string;
        for (;;) {
          // Without --wait one check with the full --timeout; with it, no check outlasts the wait.
          const deadlineMs = waitMs === 0 ? ctx.settings.deadlineMs : Math.max(1, Math.min(ctx.settings.deadlineMs, until - Date.now()));
          try {
            status = await health.check(opts.service, deadlineMs);
          } catch (err) {
            if (Date.now() + HEALTH_POLL_MS >= until) {
              throw err instanceof HealthCheckError ? new SagaClientError('Health.Check', err.code, err.details) : err;
            }
            status = '';
          }
          if (status === 'SERVING' || Date.now() + HEALTH_POLL_MS >= until) break;
          await delay(HEALTH_POLL_MS);
        }
        if (ctx.out.json) ctx.out.writeJson({ service: opts.service, status });
        else ctx.out.writeLines([ctx.out.state(status)]);
        if (status !== 'SERVING') throw new CheckFailedError(`health: ${opts.service === '' ? 'the server' : opts.service} is ${status}`);
      }),
    );

  program
    .command('list')
    .description('list sagas, newest first')
    .option('--state <states...>', 'only these states (comma-separated or repeated)', [])
    .option('--name <name>', 'only sagas with this exact name')
    .option('--since <when>', 'only sagas created since: a duration back (30s, 15m, 2h, 7d) or an ISO 8601 instant')
    .option('--limit <n>', 'at most this many sagas (follows pages)', '100')
    .action(
      run(async (ctx, opts: { state: string[]; name?: string; since?: string; limit: string }) => {
        const limit = positiveInteger('--limit', opts.limit);
        const filter = {
          states: parseStates(opts.state),
          name: opts.name,
          createdAfter: opts.since === undefined ? undefined : parseInstant('--since', opts.since, new Date()),
        };
        const { sagas, more } = await listUpTo(ctx.sagaClient(), filter, limit);
        if (ctx.out.json) ctx.out.writeJson({ sagas, more });
        else ctx.out.writeLines([...renderSummaries(sagas, ctx.out), ...(more ? [ctx.out.dim(`(more than ${limit}; raise --limit)`)] : [])]);
      }),
    );

  program
    .command('get')
    .description("a saga's record: every step with every Execute and Compensate attempt")
    .argument('<saga-id>')
    .action(
      run(async (ctx, sagaId: string) => {
        const saga = await ctx.sagaClient().get(sagaId);
        if (ctx.out.json) ctx.out.writeJson(saga);
        else ctx.out.writeLines(renderSaga(saga, ctx.out));
      }),
    );

  program
    .command('watch')
    .description('print the saga after every durable change until COMPLETED, COMPENSATED, MANUAL or RESOLVED (--json: one line each)')
    .argument('<saga-id>')
    .action(
      run(async (ctx, sagaId: string) => {
        for await (const saga of ctx.sagaClient().watch(sagaId)) {
          if (ctx.out.json) ctx.out.writeJson(saga);
          else ctx.out.writeLines([renderSnapshotLine(saga, ctx.out)]);
        }
      }),
    );

  program
    .command('start')
    .description('start a saga from a definition file (JSON, or YAML)')
    .requiredOption('--file <path>', 'the definition: { sagaId?, name, steps: [...], options?, metadata? }')
    .option('--saga-id <id>', 'client-chosen id (idempotent start); overrides the file\'s sagaId')
    .option('--wait <ms>', 'wait this long for the outcome', '0')
    .action(
      run(async (ctx, opts: { file: string; sagaId?: string; wait: string }) => {
        const { definition, sagaId } = readDefinitionFile(opts.file);
        const waitMs = opts.wait === '0' ? 0 : positiveInteger('--wait', opts.wait);
        const result = await ctx.sagaClient().startSaga(definition, { sagaId: opts.sagaId ?? sagaId, waitMs });
        if (ctx.out.json) ctx.out.writeJson(result);
        else ctx.out.writeLines(renderStartResult(result, ctx.out));
      }),
    );

  const stateChange = (verb: string, state: SagaState, sagaId: string, ctx: CommandContext): void => {
    if (ctx.out.json) ctx.out.writeJson({ sagaId, state });
    else ctx.out.writeLines([`saga ${sagaId}: ${verb}, now ${ctx.out.state(state)}`]);
  };

  program
    .command('abort')
    .description('compensate a RUNNING saga')
    .argument('<saga-id>')
    .requiredOption('--reason <text>', 'why (kept with the saga)')
    .action(run(async (ctx, sagaId: string, opts: { reason: string }) => stateChange('abort requested', await ctx.sagaClient().abort(sagaId, nonEmpty('--reason', opts.reason)), sagaId, ctx)));

  program
    .command('retry')
    .description('re-drive the compensation of a MANUAL saga with a fresh retry budget')
    .argument('<saga-id>')
    .action(run(async (ctx, sagaId: string) => stateChange('compensation re-driven', await ctx.sagaClient().retry(sagaId), sagaId, ctx)));

  program
    .command('resolve')
    .description('close a MANUAL saga as handled by hand')
    .argument('<saga-id>')
    .requiredOption('--note <text>', 'what was done (kept with the saga)')
    .action(run(async (ctx, sagaId: string, opts: { note: string }) => stateChange('resolved', await ctx.sagaClient().resolve(sagaId, nonEmpty('--note', opts.note)), sagaId, ctx)));

  program
    .command('manual')
    .description('the MANUAL queue: sagas waiting for an operator, oldest first, with the reason')
    .option('--name <name>', 'only sagas with this exact name')
    .option('--limit <n>', 'read at most this many', '10000')
    .action(
      run(async (ctx, opts: { name?: string; limit: string }) => {
        const { sagas, more } = await listUpTo(ctx.sagaClient(), { states: ['MANUAL'], name: opts.name }, positiveInteger('--limit', opts.limit));
        const oldestFirst = [...sagas].sort((a, b) => manualSince(a) - manualSince(b));
        if (ctx.out.json) ctx.out.writeJson({ sagas: oldestFirst, more });
        else ctx.out.writeLines(renderManualQueue(oldestFirst, ctx.out));
      }),
    );

  const messages = program.command('messages').description('transactional messages');
  messages
    .command('get')
    .description('a transactional message: state, check-backs, publication')
    .argument('<message-id>')
    .action(
      run(async (ctx, messageId: string) => {
        const message = await ctx.messageClient().get(messageId);
        if (ctx.out.json) ctx.out.writeJson(message);
        else ctx.out.writeLines(renderMessage(message, ctx.out));
      }),
    );

  messages
    .command('list')
    .description('transactional messages, newest first, without payloads (operator or producer token)')
    .option('--state <states...>', 'only these states: PREPARED, COMMITTED, ROLLED_BACK, DISCARDED (comma-separated or repeated)', [])
    .option('--subject <subject>', 'only messages to this exact subject')
    .option('--key <key>', 'only messages with this exact business key')
    .option('--producer <name>', 'only this producer\'s messages')
    .option('--since <when>', 'only messages created since: a duration back (30s, 15m, 2h, 7d) or an ISO 8601 instant')
    .option('--until <when>', 'only messages created before: a duration back or an ISO 8601 instant')
    .option('--limit <n>', 'at most this many messages (follows pages)', '100')
    .action(
      run(async (ctx, opts: MessageListFlags & { limit: string }) => {
        const limit = positiveInteger('--limit', opts.limit);
        const filter = messageListFilter(opts, new Date());
        const client = ctx.messageClient();
        const { items, more } = await collectUpTo(
          async (pageSize, pageToken) => {
            const page = await client.list({ ...filter, pageSize, pageToken });
            return { items: page.messages, nextPageToken: page.nextPageToken };
          },
          limit,
          MAX_PAGE,
        );
        if (ctx.out.json) ctx.out.writeJson({ messages: items, more });
        else ctx.out.writeLines([...renderMessageSummaries(items, ctx.out), ...(more ? [ctx.out.dim(`(more than ${limit}; raise --limit)`)] : [])]);
      }),
    );

  const deadLetters = program.command('dead-letters').description("the outbox's dead letters: events the relay could not publish");
  deadLetters
    .command('list')
    .description('every dead letter, oldest first, with its error and the events waiting behind it')
    .action(
      run(async (ctx) => {
        const letters = await ctx.deadLetterClient().list();
        if (ctx.out.json) ctx.out.writeJson({ deadLetters: letters });
        else ctx.out.writeLines(renderDeadLetters(letters, ctx.out));
      }),
    );
  for (const [verb, description, done] of [
    ['replay', 'put a dead letter back into the outbox (e.g. after raising the server limit)', 'replayed'],
    ['drop', 'delete a dead letter for good; the events behind it go on', 'dropped'],
  ] as const) {
    deadLetters
      .command(verb)
      .description(description)
      .argument('<event-id>')
      .action(
        run(async (ctx, eventId: string) => {
          const client = ctx.deadLetterClient();
          await (verb === 'replay' ? client.replay(eventId) : client.drop(eventId));
          if (ctx.out.json) ctx.out.writeJson({ eventId, [done]: true });
          else ctx.out.writeLines([`dead letter ${eventId}: ${done}`]);
        }),
      );
  }

  return program;
}

async function listUpTo(
  client: SagaClient,
  filter: { states?: SagaState[]; name?: string; createdAfter?: Date },
  limit: number,
): Promise<{ sagas: SagaSummary[]; more: boolean }> {
  const { items, more } = await collectUpTo(
    async (pageSize, pageToken) => {
      const page = await client.list({ ...filter, pageSize, pageToken });
      return { items: page.sagas, nextPageToken: page.nextPageToken };
    },
    limit,
    MAX_PAGE,
  );
  return { sagas: items, more };
}

function manualSince(s: SagaSummary): number {
  return (s.finishedAt ?? s.updatedAt ?? s.createdAt)?.getTime() ?? 0;
}

function nonEmpty(flag: string, value: string): string {
  if (value.trim() === '') throw new UsageError(`${flag}: must not be empty`);
  return value;
}
