// node:http2's client binds every request() to an AsyncResource. On Node 20
// (and until DEP0172 reaches end of life), AsyncResource#bind also gives the
// bound function a deprecated `asyncResource` accessor made of two
// util.deprecate wrappers, each made a prototype child of a fresh closure
// (Object.setPrototypeOf). Measured, not explained in V8's terms: with that
// accessor, every request's objects (the bound function, the stream, its
// headers, its listeners, our per-call closure) outlive the scavenges and are
// promoted, to be collected only by a mark-compact; without it they die young.
// On the participant channel thread that made most of what every call
// allocates survive, and each scavenge copy it (BENCHMARKS.md, "Session 7").
//
// installLeanAsyncResourceBind() replaces AsyncResource.prototype.bind in the
// calling isolate (the channel thread, which runs only our channels and
// node:http2) with a bind that behaves the same — the function runs in the
// resource's async scope with the caller's `this` (or thisArg) and arguments,
// and keeps fn's length — minus the deprecated property.

import { AsyncResource } from 'node:async_hooks';

type Bind = (this: AsyncResource, fn: (...args: never[]) => unknown, thisArg?: unknown) => (...args: unknown[]) => unknown;

/** Whether this runtime's bind adds the deprecated `asyncResource` accessor (the costly part). */
export function hasDeprecatedBindAccessor(): boolean {
  const bound = new AsyncResource('lean-bind-probe').bind(() => undefined);
  return Object.getOwnPropertyDescriptor(bound, 'asyncResource')?.get !== undefined;
}

function invalidFn(fn: unknown): TypeError {
  const err = new TypeError(`The "fn" argument must be of type function. Received ${fn === null ? 'null' : typeof fn}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

function bindTo(resource: AsyncResource, fn: (...args: never[]) => unknown, thisArg: unknown): (...args: unknown[]) => unknown {
  if (typeof fn !== 'function') throw invalidFn(fn);
  const run = fn as (...a: unknown[]) => unknown;
  const bound =
    thisArg === undefined
      ? function (this: unknown, ...args: unknown[]): unknown {
          return resource.runInAsyncScope(run, this, ...args);
        }
      : (...args: unknown[]): unknown => resource.runInAsyncScope(run, thisArg, ...args);
  Object.defineProperty(bound, 'length', { configurable: true, enumerable: false, writable: false, value: fn.length });
  return bound;
}

const leanBind: Bind = function leanBind(this: AsyncResource, fn, thisArg) {
  return bindTo(this, fn, thisArg);
};

/**
 * Installs the lean bind in this isolate where the runtime's bind carries the
 * deprecated accessor; returns whether it did (false on runtimes without it,
 * or when already installed).
 */
export function installLeanAsyncResourceBind(): boolean {
  const current: unknown = Object.getOwnPropertyDescriptor(AsyncResource.prototype, 'bind')?.value;
  if (current === leanBind || !hasDeprecatedBindAccessor()) return false;
  Object.defineProperty(AsyncResource.prototype, 'bind', { configurable: true, enumerable: false, writable: true, value: leanBind });
  return true;
}
