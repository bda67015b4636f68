// The console's JSON API: reads of sagas, the MANUAL queue, messages and
// health for the client role; Abort, Retry and Resolve for the operator role;
// a step's payload or output only for an operator who asks for it. Every
// handler answers JSON; errors go through http-status-map.ts.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DomainError, notFound } from '../domain/errors.js';
import type { ListSagasFilter, SagaState, SagaSummary, SagaView } from '../domain/saga-types.js';
import type { MessageListReads } from '../messages/message-list.js';
import type { DeadLetterRow, ListSagasPage } from '../store/store.js';
import { effectiveRoles, requireRole, type ConsoleAuthenticator } from './console-auth.js';
import { FieldError, httpError } from './http-status-map.js';
import { MESSAGE_STATES, parseMessageListQuery, parsePageQuery, parseSagaListQuery, SAGA_STATES } from './list-query.js';
import { serveLiveStream } from './live-stream.js';
import { manualQueue } from './manual-queue.js';
import type { SagaChangeFeed } from './saga-change-feed.js';
import { sagaJson, summaryOf } from './saga-json.js';
import type { HealthReport } from './health-report.js';

/** The engine's public methods the console uses. */
export interface ConsoleEngine {
  getSaga(id: string): Promise<SagaView>;
  listSagas(filter: ListSagasFilter): Promise<ListSagasPage>;
  abort(id: string, reason: string): Promise<SagaState>;
  retry(id: string): Promise<SagaState>;
  resolve(id: string, note: string): Promise<SagaState>;
}

/** The outbox's dead letters (events/dead-letters.ts), as the console uses them. */
export interface ConsoleDeadLetters {
  list(pageSize: number, pageToken: string): Promise<{ deadLetters: DeadLetterRow[]; nextPageToken: string }>;
  replay(eventId: string): Promise<void>;
  drop(eventId: string): Promise<void>;
}

export interface ConsoleApiOptions {
  readonly engine: ConsoleEngine;
  readonly countByState: () => Promise<Map<SagaState, number>>;
  /** Transactional messages, as the store lists them. */
  readonly messages: MessageListReads;
  readonly deadLetters: ConsoleDeadLetters;
  readonly countDeadLetters: () => Promise<number>;
  readonly health: () => Promise<HealthReport>;
  readonly feed: SagaChangeFeed;
  readonly auth: ConsoleAuthenticator;
  readonly logger: Logger;
  readonly maxStreams: number;
  /** Headers every response carries (CSP and friends). */
  readonly headers: Readonly<Record<string, string>>;
}

const MAX_BODY_BYTES = 16 * 1024;
const MAX_TEXT_BYTES = 4096;

type Handler = (ctx: RequestContext) => Promise<unknown>;

interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: readonly string[];
  readonly authorization: string | undefined;
}

interface Route {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  readonly handler: Handler;
  /** Writes its own response (the event stream). */
  readonly streams?: boolean;
}

export class ConsoleApi {
  private readonly routes: readonly Route[];
  private streams = 0;

  constructor(private readonly o: ConsoleApiOptions) {
    const view = (ctx: RequestContext): void => void requireRole(o.auth, ctx.authorization, 'client');
    const operate = (ctx: RequestContext): void => void requireRole(o.auth, ctx.authorization, 'operator');
    this.routes = [
      {
        method: 'GET',
        pattern: /^\/api\/session$/,
        handler: (ctx) => {
          const result = o.auth.authenticate(ctx.authorization);
          if ('failure' in result) throw new DomainError(result.failure, result.message);
          return Promise.resolve({ roles: effectiveRoles(result), openForViewing: o.auth.openForViewing });
        },
      },
      {
        method: 'GET',
        pattern: /^\/api\/sagas$/,
        handler: async (ctx) => {
          view(ctx);
          return this.listSagas(ctx.url.searchParams);
        },
      },
      {
        method: 'GET',
        pattern: /^\/api\/counts$/,
        handler: async (ctx) => {
          view(ctx);
          noParams(ctx.url);
          const counts = await o.countByState();
          return { counts: Object.fromEntries(SAGA_STATES.map((s) => [s, counts.get(s) ?? 0])) };
        },
      },
      {
        method: 'GET',
        pattern: /^\/api\/sagas\/([^/]+)$/,
        handler: async (ctx) => {
          view(ctx);
          noParams(ctx.url);
          return { saga: sagaJson(await o.engine.getSaga(sagaId(ctx))) };
        },
      },
      {
        method: 'GET',
        pattern: /^\/api\/sagas\/([^/]+)\/steps\/([^/]+)\/(payload|output)$/,
        handler: async (ctx) => {
          // Payload and output bytes may hold personal data: only an operator sees them, and only when asking.
          operate(ctx);
          noParams(ctx.url);
          const saga = await o.engine.getSaga(sagaId(ctx));
          const index = saga.definition.steps.findIndex((s) => s.name === ctx.params[1]);
          if (index < 0) throw notFound(`saga "${saga.sagaId}" has no step "${ctx.params[1] ?? ''}"`);
          const bytes = ctx.params[2] === 'payload' ? saga.definition.steps[index]?.payload : saga.steps[index]?.output;
          if (bytes === undefined) throw notFound(`step "${ctx.params[1] ?? ''}" has no ${ctx.params[2] ?? ''} recorded`);
          o.logger.info({ sagaId: saga.sagaId, step: ctx.params[1], what: ctx.params[2] }, 'console: step data shown');
          return { bytes: bytes.length, base64: bytes.toString('base64'), text: utf8OrUndefined(bytes) };
        },
      },
      {
        method: 'POST',
        pattern: /^\/api\/sagas\/([^/]+)\/abort$/,
        handler: async (ctx) => {
          operate(ctx);
          const body = await jsonBody(ctx.req);
          const reason = optionalText(body, 'reason');
          return this.act(ctx, 'abort', () => o.engine.abort(sagaId(ctx), reason || 'aborted from the console'));
        },
      },
      {
        method: 'POST',
        pattern: /^\/api\/sagas\/([^/]+)\/retry$/,
        handler: async (ctx) => {
          operate(ctx);
          await jsonBody(ctx.req);
          return this.act(ctx, 'retry', () => o.engine.retry(sagaId(ctx)));
        },
      },
      {
        method: 'POST',
        pattern: /^\/api\/sagas\/([^/]+)\/resolve$/,
        handler: async (ctx) => {
          operate(ctx);
          const note = optionalText(await jsonBody(ctx.req), 'note');
          if (note.trim() === '') throw new FieldError('note', 'is required: say what was done');
          return this.act(ctx, 'resolve', () => o.engine.resolve(sagaId(ctx), note));
        },
      },
      {
        method: 'GET',
        pattern: /^\/api\/manual$/,
        handler: async (ctx) => {
          view(ctx);
          return manualQueue(o.engine, parsePageQuery(ctx.url.searchParams));
        },
      },
      {
        method: 'GET',
        pattern: /^\/api\/messages$/,
        handler: async (ctx) => {
          view(ctx);
          const q = parseMessageListQuery(ctx.url.searchParams);
          const [page, counts] = await Promise.all([
            o.messages.listMessages(q).catch((err: unknown) => {
              // The state was checked above: the store can only refuse the cursor.
              if (err instanceof DomainError && err.kind === 'INVALID_ARGUMENT') throw new FieldError('pageToken', 'is not a token from this API');
              throw err;
            }),
            o.messages.countMessagesByState(),
          ]);
          return { ...page, counts: Object.fromEntries(MESSAGE_STATES.map((s) => [s, counts.get(s) ?? 0])) };
        },
      },
      {
        method: 'GET',
        pattern: /^\/api\/dead-letters$/,
        handler: async (ctx) => {
          view(ctx);
          const q = parsePageQuery(ctx.url.searchParams);
          const [page, total] = await Promise.all([
            o.deadLetters.list(q.pageSize, q.pageToken).catch((err: unknown) => {
              // The page size was checked above: only the cursor can be refused.
              if (err instanceof DomainError && err.kind === 'INVALID_ARGUMENT') throw new FieldError('pageToken', 'is not a token from this API');
              throw err;
            }),
            o.countDeadLetters(),
          ]);
          // Sizes, not the event's bytes (they may carry a message's payload).
          const deadLetters = page.deadLetters.map((d) => ({
            eventId: d.id,
            subject: d.subject,
            orderingKey: d.orderingKey,
            payloadBytes: d.payload.length,
            createdAt: d.createdAt,
            failedAt: d.failedAt,
            attempts: d.attempts,
            error: d.error,
            waitingBehind: d.waitingBehind,
          }));
          return { deadLetters, nextPageToken: page.nextPageToken, total };
        },
      },
      {
        method: 'POST',
        pattern: /^\/api\/dead-letters\/([^/]+)\/(replay|drop)$/,
        handler: async (ctx) => {
          operate(ctx);
          await jsonBody(ctx.req);
          const id = ctx.params[0] ?? '';
          if (ctx.params[1] === 'replay') await o.deadLetters.replay(id);
          else await o.deadLetters.drop(id);
          o.logger.info({ eventId: id, action: ctx.params[1] }, 'console: operator action on a dead letter');
          return { done: true };
        },
      },
      {
        method: 'GET',
        pattern: /^\/api\/health$/,
        handler: async (ctx) => {
          view(ctx);
          noParams(ctx.url);
          return o.health();
        },
      },
      {
        method: 'GET',
        pattern: /^\/api\/events$/,
        streams: true,
        handler: (ctx) => {
          view(ctx);
          noParams(ctx.url);
          if (this.streams >= o.maxStreams) throw new DomainError('UNAVAILABLE', `more than ${o.maxStreams} live streams are open; try again later`);
          this.streams += 1;
          ctx.res.once('close', () => (this.streams -= 1));
          serveLiveStream(ctx.req, ctx.res, { feed: o.feed, headers: o.headers });
          return Promise.resolve(undefined);
        },
      },
    ];
  }

  /** Answers a request under /api/. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const matching = this.routes.filter((r) => r.pattern.test(url.pathname));
    const route = matching.find((r) => r.method === req.method);
    try {
      if (matching.length === 0) throw notFound(`no API at ${url.pathname}`);
      if (route === undefined) {
        res.setHeader('allow', matching.map((r) => r.method).join(', '));
        this.send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method ?? ''} is not allowed here`, retryable: false } });
        return;
      }
      const params = (route.pattern.exec(url.pathname) ?? []).slice(1).map((p) => decodeSegment(p));
      const header = req.headers.authorization;
      const result = await route.handler({ req, res, url, params, authorization: header });
      if (route.streams !== true) this.send(res, 200, result);
    } catch (err) {
      const { status, body } = httpError(err);
      if (status === 500) this.o.logger.error({ err, path: url.pathname }, 'console request failed unexpectedly');
      if (res.headersSent) res.destroy();
      else this.send(res, status, body);
    }
  }

  private async listSagas(q: URLSearchParams): Promise<{ sagas: SagaSummary[]; nextPageToken: string }> {
    const { filter, id } = parseSagaListQuery(q);
    if (id !== '') {
      // The id index finds one saga; the other filters still apply to it.
      const found = await this.o.engine.getSaga(id).then(summaryOf, (err: unknown) => {
        if (err instanceof DomainError && err.kind === 'NOT_FOUND') return undefined;
        throw err;
      });
      return { sagas: found !== undefined && matches(found, filter) ? [found] : [], nextPageToken: '' };
    }
    try {
      return await this.o.engine.listSagas(filter);
    } catch (err) {
      // Every other field was checked above: the store can only refuse the cursor.
      if (err instanceof DomainError && err.kind === 'INVALID_ARGUMENT') throw new FieldError('pageToken', 'is not a token from this API');
      throw err;
    }
  }

  private async act(ctx: RequestContext, verb: string, run: () => Promise<SagaState>): Promise<{ state: SagaState }> {
    const state = await run();
    this.o.logger.info({ sagaId: ctx.params[0], action: verb, state }, 'console: operator action');
    return { state };
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...this.o.headers,
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }
}

function matches(s: SagaSummary, f: ListSagasFilter): boolean {
  return (
    (f.states.length === 0 || f.states.includes(s.state)) &&
    (f.name === '' || f.name === s.name) &&
    (f.createdAfter === undefined || s.createdAt >= f.createdAfter) &&
    (f.createdBefore === undefined || s.createdAt < f.createdBefore)
  );
}

function sagaId(ctx: RequestContext): string {
  const id = ctx.params[0] ?? '';
  if (id === '') throw new FieldError('sagaId', 'is required');
  return id;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new FieldError('path', `"${s}" is not a valid URL segment`);
  }
}

function noParams(url: URL): void {
  const first = [...url.searchParams.keys()][0];
  if (first !== undefined) throw new FieldError(first, 'is not a parameter here');
}

/**
 * The request's JSON object. A JSON content type is required: browsers send
 * it cross-origin only after a CORS preflight, which this API never grants.
 */
async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new FieldError('content-type', 'must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new FieldError('body', `is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FieldError('body', 'is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new FieldError('body', 'must be a JSON object');
  return parsed as Record<string, unknown>;
}

function optionalText(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new FieldError(field, 'must be a string');
  if (Buffer.byteLength(v) > MAX_TEXT_BYTES) throw new FieldError(field, `is longer than ${MAX_TEXT_BYTES} bytes`);
  return v;
}

function utf8OrUndefined(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
