// Package barrier is the SQLite sub-transaction barrier for saga participants
// (DTM-style), exactly as test/conformance/PARTICIPANT-PROTOCOL.md specifies.
//
// The coordinator delivers Execute and Compensate at least once, so a
// participant sees three anomalies: duplicates (the same operation again),
// null compensation (Compensate for an Execute that never took effect) and
// hanging (a late Execute that arrives after its Compensate). The barrier
// handles all three by recording, in the saga_barrier table and in the same
// local transaction as the business change, that an operation was done and
// what it answered.
//
// Usage:
//
//	db, _ := barrier.OpenSQLite(ctx, path, 0)
//	b := barrier.New(db)
//	_ = b.Init(ctx)
//	d, err := b.Execute(ctx, barrier.Key{SagaID: id, Step: step},
//		func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
//			// business change through tx only
//			return barrier.Succeeded(output), nil
//		})
//
// The callback must do its writes through tx (never through the *sql.DB), and
// returns either a Result (SUCCEEDED or FAILED, committed with the barrier row)
// or an error (transient: the whole transaction, barrier row included, is
// rolled back and the coordinator's retry will run it again).
package barrier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Outcome is the stored outcome of a barrier row.
type Outcome string

const (
	// OutcomeSucceeded is a business operation that took effect.
	OutcomeSucceeded Outcome = "SUCCEEDED"
	// OutcomeFailed is a business failure: no business change.
	OutcomeFailed Outcome = "FAILED"
	// OutcomeNullCompensation is a Compensate whose Execute never took effect.
	OutcomeNullCompensation Outcome = "NULL_COMPENSATION"
	// OutcomeRejected is an Execute refused because its Compensate came first.
	OutcomeRejected Outcome = "REJECTED"

	// outcomePending is the placeholder of a row claimed by a transaction that
	// has not decided yet; it is always replaced before commit, so no other
	// connection ever sees it.
	outcomePending Outcome = "PENDING"
)

// Op is the barrier operation.
type Op string

const (
	OpExecute    Op = "execute"
	OpCompensate Op = "compensate"
)

// ErrorCodeRejected is the error_code of a refused (hanging) Execute.
const ErrorCodeRejected = "BARRIER_REJECTED"

// DefaultRetention is how long barrier rows are kept before Cleanup deletes them.
const DefaultRetention = 7 * 24 * time.Hour

// Schema is the barrier table, identical in every language.
const Schema = `CREATE TABLE IF NOT EXISTS saga_barrier (
  saga_id       TEXT    NOT NULL,
  step          TEXT    NOT NULL,
  op            TEXT    NOT NULL,
  outcome       TEXT    NOT NULL,
  output        BLOB,
  error_code    TEXT    NOT NULL DEFAULT '',
  error_message TEXT    NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  compensation_epoch INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (saga_id, step, op)
)`

// schemaIndex makes retention cleanup a range delete instead of a table scan.
const schemaIndex = `CREATE INDEX IF NOT EXISTS saga_barrier_created_at ON saga_barrier (created_at)`

// addCompensationEpoch migrates a table created before compensation epochs
// existed (its rows are epoch 0).
const addCompensationEpoch = `ALTER TABLE saga_barrier ADD COLUMN compensation_epoch INTEGER NOT NULL DEFAULT 0`

// Result is what an operation answers: SUCCEEDED with output, or FAILED with a
// business error code and message.
type Result struct {
	Outcome      Outcome // OutcomeSucceeded or OutcomeFailed
	Output       []byte
	ErrorCode    string
	ErrorMessage string
}

// Succeeded is a successful business result.
func Succeeded(output []byte) Result {
	return Result{Outcome: OutcomeSucceeded, Output: output}
}

// Failed is a business failure (not retried by the coordinator).
func Failed(code, message string) Result {
	return Result{Outcome: OutcomeFailed, ErrorCode: code, ErrorMessage: message}
}

// OK reports whether the result is SUCCEEDED.
func (r Result) OK() bool { return r.Outcome == OutcomeSucceeded }

// Kind says which barrier path an operation took.
type Kind string

const (
	// KindApplied: the business callback ran and its result was committed
	// (SUCCEEDED with its change, or FAILED without any change).
	KindApplied Kind = "applied"
	// KindDuplicate: the operation was already done; the stored result is
	// answered and nothing runs.
	KindDuplicate Kind = "duplicate"
	// KindNullCompensation: Compensate for an Execute that never took
	// effect; answered SUCCEEDED, nothing runs, a later Execute is refused.
	KindNullCompensation Kind = "null_compensation"
	// KindRejected: Execute after its Compensate (hanging); answered FAILED
	// BARRIER_REJECTED, nothing runs.
	KindRejected Kind = "rejected"
	// KindNewEpoch: a Compensate, Confirm or Cancel at a later compensation
	// epoch (the saga was retried) for one that answered FAILED in an earlier
	// epoch: it was decided again and its result replaced the stored one.
	KindNewEpoch Kind = "new_epoch"
)

// Decision is the answer to one Execute or Compensate plus the path taken.
// Result.Outcome is always OutcomeSucceeded or OutcomeFailed.
type Decision struct {
	Result Result
	Kind   Kind
}

// Key identifies a saga step at the barrier.
type Key struct {
	SagaID string
	Step   string
}

func (k Key) validate() error {
	if k.SagaID == "" || k.Step == "" {
		return fmt.Errorf("barrier: saga id and step are required (got %q, %q)", k.SagaID, k.Step)
	}
	return nil
}

// Business is a business operation run inside the barrier's transaction. It
// must make its changes through tx only. Return a Result for every outcome
// you know (SUCCEEDED or FAILED; a FAILED result has its changes discarded),
// or an error for a transient problem (everything is rolled back).
type Business func(ctx context.Context, tx *sql.Tx) (Result, error)

// Barrier guards business operations with the saga_barrier table.
type Barrier struct {
	db        *sql.DB
	now       func() time.Time
	retention time.Duration
}

// Option configures a Barrier.
type Option func(*Barrier)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(b *Barrier) { b.now = now } }

// WithRetention sets how long rows are kept (default DefaultRetention).
func WithRetention(d time.Duration) Option { return func(b *Barrier) { b.retention = d } }

// New returns a barrier over db. db should be opened with OpenSQLite (or with
// WAL, a busy timeout and immediate transactions). Call Init once.
func New(db *sql.DB, opts ...Option) *Barrier {
	b := &Barrier{db: db, now: time.Now, retention: DefaultRetention}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Init creates the barrier table (and its cleanup index) if missing, and adds
// what a table of an older version lacks, in one transaction.
func (b *Barrier) Init(ctx context.Context) error {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("barrier: create schema: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, stmt := range []string{Schema, schemaIndex} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("barrier: create schema: %w", err)
		}
	}
	var has int
	if err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM pragma_table_info('saga_barrier') WHERE name = 'compensation_epoch'`).Scan(&has); err != nil {
		return fmt.Errorf("barrier: migrate schema: %w", err)
	}
	if has == 0 {
		if _, err := tx.ExecContext(ctx, addCompensationEpoch); err != nil {
			return fmt.Errorf("barrier: migrate schema: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("barrier: create schema: %w", err)
	}
	return nil
}

// Execute runs a step's forward action through the barrier:
//
//   - a compensate row exists for (saga, step) → hanging: FAILED
//     BARRIER_REJECTED, no effect (an execute row REJECTED is recorded if none
//     exists);
//   - an execute row exists → duplicate: the stored result, no effect;
//   - else fn runs and its result is committed together with the row.
func (b *Barrier) Execute(ctx context.Context, key Key, fn Business) (Decision, error) {
	if err := key.validate(); err != nil {
		return Decision{}, err
	}
	return b.inTx(ctx, func(tx *sql.Tx) (Decision, error) {
		claimed, err := b.claim(ctx, tx, key, OpExecute)
		if err != nil {
			return Decision{}, err
		}
		if _, found, err := b.load(ctx, tx, key, OpCompensate); err != nil {
			return Decision{}, err
		} else if found {
			rejected := rejectedResult()
			if claimed {
				if err := b.store(ctx, tx, key, OpExecute, OutcomeRejected, rejected); err != nil {
					return Decision{}, err
				}
			}
			return Decision{Result: rejected, Kind: KindRejected}, nil
		}
		if !claimed {
			return b.duplicate(ctx, tx, key, OpExecute)
		}
		res, err := b.runBusiness(ctx, tx, fn)
		if err != nil {
			return Decision{}, err
		}
		if err := b.store(ctx, tx, key, OpExecute, res.Outcome, res); err != nil {
			return Decision{}, err
		}
		return Decision{Result: res, Kind: KindApplied}, nil
	})
}

// Compensate runs a step's compensation through the barrier, at the call's
// compensation epoch (StepCall.compensation_epoch: the saga's RetrySagas so
// far):
//
//   - a compensate row exists → duplicate: the stored result, unless it is
//     FAILED from an earlier epoch: then fn runs again (KindNewEpoch) and its
//     result replaces the stored one (the operator fixed the cause and
//     retried the saga); a compensation that succeeded never runs twice;
//   - no execute row, or one with outcome FAILED or REJECTED → null
//     compensation: SUCCEEDED, no effect, and an execute row REJECTED is
//     recorded (if none exists) so that a late Execute is refused;
//   - else fn runs and its result is committed together with the row.
func (b *Barrier) Compensate(ctx context.Context, key Key, epoch uint32, fn Business) (Decision, error) {
	if err := key.validate(); err != nil {
		return Decision{}, err
	}
	return b.inTx(ctx, func(tx *sql.Tx) (Decision, error) {
		applied, stored, err := b.claimForEpoch(ctx, tx, key, OpCompensate, epoch)
		if err != nil || stored != nil {
			return deref(stored), err
		}
		exec, found, err := b.load(ctx, tx, key, OpExecute)
		if err != nil {
			return Decision{}, err
		}
		if !found || exec.Outcome == OutcomeFailed || exec.Outcome == OutcomeRejected {
			if !found {
				if err := b.insert(ctx, tx, key, OpExecute, OutcomeRejected, rejectedResult()); err != nil {
					return Decision{}, err
				}
			}
			if err := b.store(ctx, tx, key, OpCompensate, OutcomeNullCompensation, Result{}); err != nil {
				return Decision{}, err
			}
			return Decision{Result: Succeeded(nil), Kind: KindNullCompensation}, nil
		}
		res, err := b.runBusiness(ctx, tx, fn)
		if err != nil {
			return Decision{}, err
		}
		if err := b.store(ctx, tx, key, OpCompensate, res.Outcome, res); err != nil {
			return Decision{}, err
		}
		return Decision{Result: res, Kind: applied}, nil
	})
}

// Cleanup deletes barrier rows created before olderThan and returns how many.
func (b *Barrier) Cleanup(ctx context.Context, olderThan time.Time) (int64, error) {
	r, err := b.db.ExecContext(ctx, `DELETE FROM saga_barrier WHERE created_at < ?`, olderThan.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("barrier: cleanup: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("barrier: cleanup: %w", err)
	}
	return n, nil
}

// CleanupExpired deletes the rows older than the retention period.
func (b *Barrier) CleanupExpired(ctx context.Context) (int64, error) {
	return b.Cleanup(ctx, b.now().Add(-b.retention))
}

// StartCleanup runs CleanupExpired now and then every interval until ctx is
// done. onResult (may be nil) sees every run's result. Wait for the returned
// function before closing the database.
func (b *Barrier) StartCleanup(ctx context.Context, interval time.Duration, onResult func(deleted int64, err error)) (wait func()) {
	if interval <= 0 {
		interval = time.Hour
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			n, err := b.CleanupExpired(ctx)
			if onResult != nil && ctx.Err() == nil {
				onResult(n, err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return wg.Wait
}

func rejectedResult() Result {
	return Failed(ErrorCodeRejected, "refused by the saga barrier: the step was already compensated (late Execute after its Compensate)")
}

// inTx runs body in one transaction; it commits only when body succeeds.
func (b *Barrier) inTx(ctx context.Context, body func(tx *sql.Tx) (Decision, error)) (Decision, error) {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return Decision{}, fmt.Errorf("barrier: begin: %w", err)
	}
	d, err := body(tx)
	if err != nil {
		_ = tx.Rollback()
		return Decision{}, err
	}
	if err := tx.Commit(); err != nil {
		return Decision{}, fmt.Errorf("barrier: commit: %w", err)
	}
	return d, nil
}

// runBusiness runs fn inside a savepoint so that a FAILED result leaves no
// business change behind while the barrier row is still committed.
func (b *Barrier) runBusiness(ctx context.Context, tx *sql.Tx, fn Business) (Result, error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT saga_barrier_business`); err != nil {
		return Result{}, fmt.Errorf("barrier: savepoint: %w", err)
	}
	res, err := fn(ctx, tx)
	if err != nil {
		return Result{}, err // the caller rolls the whole transaction back
	}
	switch res.Outcome {
	case OutcomeSucceeded:
		res.ErrorCode, res.ErrorMessage = "", ""
		if _, err := tx.ExecContext(ctx, `RELEASE saga_barrier_business`); err != nil {
			return Result{}, fmt.Errorf("barrier: release savepoint: %w", err)
		}
	case OutcomeFailed:
		res.Output = nil
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO saga_barrier_business`); err != nil {
			return Result{}, fmt.Errorf("barrier: rollback to savepoint: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `RELEASE saga_barrier_business`); err != nil {
			return Result{}, fmt.Errorf("barrier: release savepoint: %w", err)
		}
	default:
		return Result{}, fmt.Errorf("barrier: business callback returned outcome %q, want %s or %s",
			res.Outcome, OutcomeSucceeded, OutcomeFailed)
	}
	return res, nil
}

// claim inserts a pending row for (key, op); false when the row already exists.
func (b *Barrier) claim(ctx context.Context, tx *sql.Tx, key Key, op Op) (bool, error) {
	return b.claimAt(ctx, tx, key, op, 0)
}

// claimForEpoch claims the row of an operation decided per compensation epoch
// (compensate, confirm, cancel). A duplicate gets the stored answer (stored
// non-nil), unless that is FAILED from an earlier epoch (the saga was
// retried): then the row is reopened at epoch and the caller decides it
// again, kind KindNewEpoch. A fresh row is KindApplied. Any other stored
// result answers every epoch: an operation that took effect never runs twice.
func (b *Barrier) claimForEpoch(ctx context.Context, tx *sql.Tx, key Key, op Op, epoch uint32) (Kind, *Decision, error) {
	claimed, err := b.claimAt(ctx, tx, key, op, epoch)
	if err != nil || claimed {
		return KindApplied, nil, err
	}
	prev, err := b.loadExisting(ctx, tx, key, op)
	if err != nil {
		return "", nil, err
	}
	if prev.Outcome != OutcomeFailed || prev.Epoch >= epoch {
		d, err := answerStored(key, op, prev)
		return KindDuplicate, &d, err
	}
	if err := b.reopen(ctx, tx, key, op, epoch); err != nil {
		return "", nil, err
	}
	return KindNewEpoch, nil, nil
}

// deref is the decision a claim answered, or the zero Decision with its error.
func deref(d *Decision) Decision {
	if d == nil {
		return Decision{}
	}
	return *d
}

// claimAt is claim for a row of the given compensation epoch.
func (b *Barrier) claimAt(ctx context.Context, tx *sql.Tx, key Key, op Op, epoch uint32) (bool, error) {
	r, err := tx.ExecContext(ctx,
		`INSERT INTO saga_barrier (saga_id, step, op, outcome, created_at, compensation_epoch) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (saga_id, step, op) DO NOTHING`,
		key.SagaID, key.Step, string(op), string(outcomePending), b.now().UnixMilli(), int64(epoch))
	if err != nil {
		return false, fmt.Errorf("barrier: insert %s row: %w", op, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("barrier: insert %s row: %w", op, err)
	}
	return n == 1, nil
}

// insert adds a finished row for (key, op) unless one exists.
func (b *Barrier) insert(ctx context.Context, tx *sql.Tx, key Key, op Op, outcome Outcome, res Result) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO saga_barrier (saga_id, step, op, outcome, output, error_code, error_message, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (saga_id, step, op) DO NOTHING`,
		key.SagaID, key.Step, string(op), string(outcome), nullableBlob(res.Output), res.ErrorCode, res.ErrorMessage,
		b.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("barrier: insert %s row: %w", op, err)
	}
	return nil
}

// store writes the final outcome into the row claimed by this transaction.
func (b *Barrier) store(ctx context.Context, tx *sql.Tx, key Key, op Op, outcome Outcome, res Result) error {
	r, err := tx.ExecContext(ctx,
		`UPDATE saga_barrier SET outcome = ?, output = ?, error_code = ?, error_message = ?
		 WHERE saga_id = ? AND step = ? AND op = ?`,
		string(outcome), nullableBlob(res.Output), res.ErrorCode, res.ErrorMessage, key.SagaID, key.Step, string(op))
	if err != nil {
		return fmt.Errorf("barrier: store %s row: %w", op, err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("barrier: store %s row: %d rows updated (%v)", op, n, err)
	}
	return nil
}

// reopen claims an existing row again for a later compensation epoch: the row
// is pending again (store replaces it before commit) and its retention counts
// from now.
func (b *Barrier) reopen(ctx context.Context, tx *sql.Tx, key Key, op Op, epoch uint32) error {
	r, err := tx.ExecContext(ctx,
		`UPDATE saga_barrier SET outcome = ?, output = NULL, error_code = '', error_message = '', compensation_epoch = ?, created_at = ?
		 WHERE saga_id = ? AND step = ? AND op = ?`,
		string(outcomePending), int64(epoch), b.now().UnixMilli(), key.SagaID, key.Step, string(op))
	if err != nil {
		return fmt.Errorf("barrier: reopen %s row: %w", op, err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("barrier: reopen %s row: %d rows updated (%v)", op, n, err)
	}
	return nil
}

type row struct {
	Outcome Outcome
	Result  Result
	// Epoch is the compensation epoch the result was decided in.
	Epoch uint32
}

func (b *Barrier) load(ctx context.Context, tx *sql.Tx, key Key, op Op) (row, bool, error) {
	var (
		r      row
		out    []byte
		code   string
		msg    string
		stored string
		epoch  int64
	)
	err := tx.QueryRowContext(ctx,
		`SELECT outcome, output, error_code, error_message, compensation_epoch FROM saga_barrier WHERE saga_id = ? AND step = ? AND op = ?`,
		key.SagaID, key.Step, string(op)).Scan(&stored, &out, &code, &msg, &epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, false, nil
	}
	if err != nil {
		return row{}, false, fmt.Errorf("barrier: read %s row: %w", op, err)
	}
	r.Outcome = Outcome(stored)
	r.Result = Result{Outcome: r.Outcome, Output: out, ErrorCode: code, ErrorMessage: msg}
	r.Epoch = uint32(epoch)
	return r, true, nil
}

// loadExisting is load of a row this transaction found claimed.
func (b *Barrier) loadExisting(ctx context.Context, tx *sql.Tx, key Key, op Op) (row, error) {
	r, found, err := b.load(ctx, tx, key, op)
	if err != nil {
		return row{}, err
	}
	if !found {
		return row{}, fmt.Errorf("barrier: %s row for %s/%s vanished", op, key.SagaID, key.Step)
	}
	return r, nil
}

// duplicate answers the stored result of (key, op).
func (b *Barrier) duplicate(ctx context.Context, tx *sql.Tx, key Key, op Op) (Decision, error) {
	r, err := b.loadExisting(ctx, tx, key, op)
	if err != nil {
		return Decision{}, err
	}
	return answerStored(key, op, r)
}

// answerStored turns a stored row into the answer to a duplicate.
func answerStored(key Key, op Op, r row) (Decision, error) {
	var res Result
	switch r.Outcome {
	case OutcomeSucceeded:
		res = Succeeded(r.Result.Output)
	case OutcomeFailed:
		res = Failed(r.Result.ErrorCode, r.Result.ErrorMessage)
	case OutcomeNullCompensation:
		res = Succeeded(nil)
	case OutcomeRejected:
		res = rejectedResult()
		if r.Result.ErrorCode != "" {
			res = Failed(r.Result.ErrorCode, r.Result.ErrorMessage)
		}
	default:
		return Decision{}, fmt.Errorf("barrier: %s row for %s/%s has unknown outcome %q", op, key.SagaID, key.Step, r.Outcome)
	}
	return Decision{Result: res, Kind: KindDuplicate}, nil
}

// nullableBlob stores an empty output as NULL.
func nullableBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
