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
//   - a duplicate of any of the three answers the stored result, except a
//     Confirm or Cancel stored FAILED in an earlier compensation epoch
//     (StepCall.compensation_epoch, the RetrySagas so far): then it is decided
//     again (KindNewEpoch) and its result replaces the stored one; one that
//     took effect never runs twice;
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
		return b.apply(ctx, tx, key, OpTry, KindApplied, fn)
	})
}

// Confirm runs a branch's Confirm (use what Try reserved) through the barrier,
// at the call's compensation epoch.
func (b *Barrier) Confirm(ctx context.Context, key Key, epoch uint32, fn Business) (Decision, error) {
	if err := key.validate(); err != nil {
		return Decision{}, err
	}
	return b.inTx(ctx, func(tx *sql.Tx) (Decision, error) {
		kind, stored, err := b.claimForEpoch(ctx, tx, key, OpConfirm, epoch)
		if err != nil || stored != nil {
			return deref(stored), err
		}
		tried, found, err := b.load(ctx, tx, key, OpTry)
		if err != nil {
			return Decision{}, err
		}
		if !found || tried.Outcome != OutcomeSucceeded {
			return b.refuse(ctx, tx, key, OpConfirm, kind, "confirm without a successful try")
		}
		if _, cancelled, err := b.load(ctx, tx, key, OpCancel); err != nil {
			return Decision{}, err
		} else if cancelled {
			return b.refuse(ctx, tx, key, OpConfirm, kind, "confirm after cancel")
		}
		return b.apply(ctx, tx, key, OpConfirm, kind, fn)
	})
}

// Cancel runs a branch's Cancel (release what Try reserved) through the
// barrier, at the call's compensation epoch.
func (b *Barrier) Cancel(ctx context.Context, key Key, epoch uint32, fn Business) (Decision, error) {
	if err := key.validate(); err != nil {
		return Decision{}, err
	}
	return b.inTx(ctx, func(tx *sql.Tx) (Decision, error) {
		kind, stored, err := b.claimForEpoch(ctx, tx, key, OpCancel, epoch)
		if err != nil || stored != nil {
			return deref(stored), err
		}
		if _, confirmed, err := b.load(ctx, tx, key, OpConfirm); err != nil {
			return Decision{}, err
		} else if confirmed {
			return b.refuse(ctx, tx, key, OpCancel, kind, "cancel after confirm")
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
		return b.apply(ctx, tx, key, OpCancel, kind, fn)
	})
}

// apply runs fn and commits its result with the row claimed for (key, op);
// kind is KindApplied, or KindNewEpoch for a row reopened at a later epoch.
func (b *Barrier) apply(ctx context.Context, tx *sql.Tx, key Key, op Op, kind Kind, fn Business) (Decision, error) {
	res, err := b.runBusiness(ctx, tx, fn)
	if err != nil {
		return Decision{}, err
	}
	if err := b.store(ctx, tx, key, op, res.Outcome, res); err != nil {
		return Decision{}, err
	}
	return Decision{Result: res, Kind: kind}, nil
}

// refuse records and answers FAILED TCC_OUT_OF_ORDER for the row claimed for (key, op).
func (b *Barrier) refuse(ctx context.Context, tx *sql.Tx, key Key, op Op, kind Kind, why string) (Decision, error) {
	res := Failed(ErrorCodeOutOfOrder, why)
	if err := b.store(ctx, tx, key, op, OutcomeFailed, res); err != nil {
		return Decision{}, err
	}
	return Decision{Result: res, Kind: kind}, nil
}
