// The lean bind must behave as Node's own AsyncResource#bind, minus the
// deprecated accessor: the same checks run against the runtime's bind and then
// against the lean one (vitest's forks pool gives this file a process of its own).
import { AsyncLocalStorage, AsyncResource, executionAsyncId } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { hasDeprecatedBindAccessor, installLeanAsyncResourceBind } from './lean-async-resource-bind.js';

const currentBind = (): unknown => Object.getOwnPropertyDescriptor(AsyncResource.prototype, 'bind')?.value;

function checkBindSemantics(): void {
  const als = new AsyncLocalStorage<string>();
  const resource = als.run('at creation', () => new AsyncResource('lean-bind-test'));

  // No thisArg: the caller's this, the arguments, the return value, the resource's scope.
  const seen: { store: string | undefined; id: number; self: unknown; args: unknown[] }[] = [];
  const fn = function (this: unknown, a: number, b: number): number {
    seen.push({ store: als.getStore(), id: executionAsyncId(), self: this, args: [a, b] });
    return a + b;
  };
  const bound = resource.bind(fn);
  expect(bound.length).toBe(2);
  const receiver = { tag: 'receiver' };
  const result = als.run('at call', () => bound.call(receiver, 2, 3));
  expect(result).toBe(5);
  expect(seen).toEqual([{ store: 'at creation', id: resource.asyncId(), self: receiver, args: [2, 3] }]);

  // thisArg fixes this whatever the call site.
  const fixed = { tag: 'fixed' };
  // Node's typings omit bind's thisArg (documented since v14.8.0).
  const bindWithThis = resource.bind.bind(resource) as unknown as (fn: (this: unknown) => unknown[], thisArg: unknown) => (this: unknown) => unknown[];
  const withThis = bindWithThis(function (this: unknown) {
    return [this, als.getStore()];
  }, fixed);
  expect(withThis.call({ tag: 'other' })).toEqual([fixed, 'at creation']);
  expect(withThis.length).toBe(0);

  // The static form goes through the prototype's bind.
  const staticBound = als.run('static', () => AsyncResource.bind((x: string) => `${x}:${als.getStore() ?? ''}`));
  expect(staticBound('v')).toBe('v:static');

  // A throw inside propagates; the scope is left.
  const boom = resource.bind(() => {
    throw new RangeError('inside');
  });
  expect(() => boom()).toThrow(RangeError);

  // Not a function: the same error class and code as Node's validator.
  let err: unknown;
  try {
    resource.bind(42 as never);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TypeError);
  expect((err as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
}

describe('lean AsyncResource#bind', () => {
  it('behaves as the runtime bind before and after install; only the deprecated accessor goes', () => {
    const original = currentBind();
    checkBindSemantics();
    const hadAccessor = hasDeprecatedBindAccessor();
    // Node 20 (the supported runtime) carries the accessor; a runtime without it keeps its own bind.
    expect(installLeanAsyncResourceBind()).toBe(hadAccessor);
    if (hadAccessor) expect(currentBind()).not.toBe(original);
    expect(hasDeprecatedBindAccessor()).toBe(false);
    expect(Object.getOwnPropertyDescriptor(new AsyncResource('x').bind(() => 1), 'asyncResource')).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(AsyncResource.prototype, 'bind')?.enumerable).toBe(false);
    checkBindSemantics();
    // Installing twice changes nothing.
    const installed = currentBind();
    expect(installLeanAsyncResourceBind()).toBe(false);
    expect(currentBind()).toBe(installed);
  });
});
