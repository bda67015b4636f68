package barrier

import (
	"context"
	"database/sql"
)

// TCC branches (saga.v1.TccParticipant) use the same table with three more
// operations. Try, Confirm and Cancel keep the saga rules, adapted:
//
//   - Try after its Cancel (hanging) is refused with BARRIER_REJECTED;
//   - Cancel whose Try never arrived, failed or was refused is a null cancel:
//     SUCCEEDED without running fn, and a Try row REJECTED is recorded;
//   - a duplicate of any of the three answers the stored result;
//   - Confirm without a successful Try, or Cancel after Confirm, is refused
//     with FAILED TCC_OUT_OF_ORDER (the coordinator never sends either).
const (
	OpTry     Op = "try"
	OpConfirm Op = "confirm"
	OpCancel  Op = "cancel"
)

// ErrorCodeOutOfOrder is the error_code of a Confirm without a successful Try
// or a Cancel after Confirm.
const ErrorCodeOutOfOrder = "TCC_OUT_OF_ORDER"

// Try runs a branch's Try (reserve) through the barrier.
func (b *Barrier) Try(ctx context.Context, key Key, fn Business) (Decision, error) {
	if err := key.validate(); err != nil {
		return Decision{}, err
	}
	return b.inTx(ctx, func(tx *sql.Tx) (Decision, error) {
		claimed, err := b.claim(ctx, tx, key, OpTry)
		if err != nil {
			return Decision{}, err
		}
		if _, cancelled, err := b.load(ctx, tx, key, OpCancel); err != nil {
			return Decision{}, err
		} else if cancelled {
			rejected := Failed(ErrorCodeRejected, "refused by the barrier: try arrived after its cancel (hanging)")
			if claimed {
				if err := b.store(ctx, tx, key, OpTry, OutcomeRejected, rejected); err != nil {
					return Decision{}, err
				}
			}
			return Decision{Result: rejected, Kind: KindRejected}, nil
		}
		if !claimed {
			return b.duplicate(ctx, tx, key, OpTry)
		}
		return b.apply(ctx, tx, key, OpTry, fn)
	})
}

// Confirm runs a branch's Confirm (use what Try reserved) through the barrier.
func (b *Barrier) Confirm(ctx context.Context, key Key, fn Business) (Decision, error) {
	if err := key.validate(); err != nil {
		return Decision{}, err
	}
	return b.inTx(ctx, func(tx *sql.Tx) (Decision, error) {
		claimed, err := b.claim(ctx, tx, key, OpConfirm)
		if err != nil {
			return Decision{}, err
		}
		if !claimed {
			return b.duplicate(ctx, tx, key, OpConfirm)
		}
		tried, found, err := b.load(ctx, tx, key, OpTry)
		if err != nil {
			return Decision{}, err
		}
		if !found || tried.Outcome != OutcomeSucceeded {
			return b.refuse(ctx, tx, key, OpConfirm, "confirm without a successful try")
		}
		if _, cancelled, err := b.load(ctx, tx, key, OpCancel); err != nil {
			return Decision{}, err
		} else if cancelled {
			return b.refuse(ctx, tx, key, OpConfirm, "confirm after cancel")
		}
		return b.apply(ctx, tx, key, OpConfirm, fn)
	})
}

// Cancel runs a branch's Cancel (release what Try reserved) through the barrier.
func (b *Barrier) Cancel(ctx context.Context, key Key, fn Business) (Decision, error) {
	if err := key.validate(); err != nil {
		return Decision{}, err
	}
	return b.inTx(ctx, func(tx *sql.Tx) (Decision, error) {
		claimed, err := b.claim(ctx, tx, key, OpCancel)
		if err != nil {
			return Decision{}, err
		}
		if !claimed {
			return b.duplicate(ctx, tx, key, OpCancel)
		}
		if _, confirmed, err := b.load(ctx, tx, key, OpConfirm); err != nil {
			return Decision{}, err
		} else if confirmed {
			return b.refuse(ctx, tx, key, OpCancel, "cancel after confirm")
		}
		tried, found, err := b.load(ctx, tx, key, OpTry)
		if err != nil {
			return Decision{}, err
		}
		if !found || tried.Outcome == OutcomeFailed || tried.Outcome == OutcomeRejected {
			if !found {
				refused := Failed(ErrorCodeRejected, "refused by the barrier: cancelled before it was tried")
				if err := b.insert(ctx, tx, key, OpTry, OutcomeRejected, refused); err != nil {
					return Decision{}, err
				}
			}
			if err := b.store(ctx, tx, key, OpCancel, OutcomeNullCompensation, Result{}); err != nil {
				return Decision{}, err
			}
			return Decision{Result: Succeeded(nil), Kind: KindNullCompensation}, nil
		}
		return b.apply(ctx, tx, key, OpCancel, fn)
	})
}

// apply runs fn and commits its result with the row claimed for (key, op).
func (b *Barrier) apply(ctx context.Context, tx *sql.Tx, key Key, op Op, fn Business) (Decision, error) {
	res, err := b.runBusiness(ctx, tx, fn)
	if err != nil {
		return Decision{}, err
	}
	if err := b.store(ctx, tx, key, op, res.Outcome, res); err != nil {
		return Decision{}, err
	}
	return Decision{Result: res, Kind: KindApplied}, nil
}

// refuse records and answers FAILED TCC_OUT_OF_ORDER for the row claimed for (key, op).
func (b *Barrier) refuse(ctx context.Context, tx *sql.Tx, key Key, op Op, why string) (Decision, error) {
	res := Failed(ErrorCodeOutOfOrder, why)
	if err := b.store(ctx, tx, key, op, OutcomeFailed, res); err != nil {
		return Decision{}, err
	}
	return Decision{Result: res, Kind: KindApplied}, nil
}
