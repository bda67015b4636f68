// The order's state machine and what compensating an order means in each
// state (the source material's state-machine compensation). Pure: the
// orders service applies the decision inside its barrier transaction.

export type OrderState = 'CREATED' | 'PAID' | 'SHIPPED' | 'CANCELLED' | 'REFUNDED' | 'RETURN_REQUESTED';

/** Forward transitions, by action: the state the order must be in, and the state it moves to. */
export const FORWARD_TRANSITIONS = {
  pay: { from: 'CREATED', to: 'PAID' },
  ship: { from: 'PAID', to: 'SHIPPED' },
} as const satisfies Record<string, { from: OrderState; to: OrderState }>;

/** What the order's compensation does, decided by the state it finds when it runs. */
export type CompensationDecision =
  /** Move to `to` and tell the user `notice`. */
  | { kind: 'transition'; path: 'cancel' | 'refund' | 'return'; to: OrderState; notice: string }
  /** Already compensated (a replay past the barrier, e.g. after RetrySaga): nothing to do. */
  | { kind: 'already'; state: OrderState }
  /** A state this compensation has no rule for: a human must look (the step answers FAILED). */
  | { kind: 'unknown'; state: string };

const DECISIONS: Readonly<Record<string, CompensationDecision>> = {
  CREATED: { kind: 'transition', path: 'cancel', to: 'CANCELLED', notice: 'cancelled' },
  PAID: { kind: 'transition', path: 'refund', to: 'REFUNDED', notice: 'cancelled and refunded' },
  SHIPPED: { kind: 'transition', path: 'return', to: 'RETURN_REQUESTED', notice: 'cancelled; a return has been started' },
  CANCELLED: { kind: 'already', state: 'CANCELLED' },
  REFUNDED: { kind: 'already', state: 'REFUNDED' },
  RETURN_REQUESTED: { kind: 'already', state: 'RETURN_REQUESTED' },
};

export function compensationFor(state: string): CompensationDecision {
  return Object.hasOwn(DECISIONS, state) ? DECISIONS[state]! : { kind: 'unknown', state };
}
