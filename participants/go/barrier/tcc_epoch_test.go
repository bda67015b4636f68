package barrier_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/saga-coordinator/participants/go/barrier"
)

// Compensation epochs at the TCC barrier: a Confirm or Cancel stored FAILED
// answers the calls of its own (or an older) epoch only; at a later epoch (the
// transaction was retried) it is decided again, once. One that took effect
// never runs again.

func ledgerClosed(context.Context, *sql.Tx) (barrier.Result, error) {
	return barrier.Failed("LEDGER_CLOSED", "the ledger is closed"), nil
}

func TestTccFailedConfirmRunsAgainInALaterEpochOnce(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	f.ok(f.b.Try(ctx, tccKey, f.freeze(3)))
	if d := f.ok(f.b.Confirm(ctx, tccKey, 0, ledgerClosed)); d.Result.ErrorCode != "LEDGER_CLOSED" {
		t.Fatalf("confirm at epoch 0 = %+v; want FAILED LEDGER_CLOSED", d)
	}
	if d := f.ok(f.b.Confirm(ctx, tccKey, 0, mustNotRun(t))); d.Kind != barrier.KindDuplicate || d.Result.ErrorCode != "LEDGER_CLOSED" {
		t.Fatalf("duplicate at epoch 0 = %+v; want the stored FAILED", d)
	}
	if d := f.ok(f.b.Confirm(ctx, tccKey, 1, f.deduct(3))); d.Kind != barrier.KindNewEpoch || !d.Result.OK() {
		t.Fatalf("confirm at epoch 1 = %+v; want it decided again and SUCCEEDED", d)
	}
	if r, _ := f.row(tccKey, "confirm"); r.outcome != "SUCCEEDED" || f.epochOf(tccKey, "confirm") != 1 {
		t.Fatalf("confirm row %+v at epoch %d; want SUCCEEDED at epoch 1", r, f.epochOf(tccKey, "confirm"))
	}
	// A duplicate of epoch 1, a late call of epoch 0, a later epoch: the stored success.
	for _, epoch := range []uint32{1, 0, 2} {
		if d := f.ok(f.b.Confirm(ctx, tccKey, epoch, mustNotRun(t))); d.Kind != barrier.KindDuplicate || !d.Result.OK() {
			t.Fatalf("confirm at epoch %d after success = %+v; want the stored SUCCEEDED", epoch, d)
		}
	}
	if a, fr := f.stock(); a != 7 || fr != 0 || f.runs[barrier.OpConfirm] != 1 {
		t.Fatalf("available %d frozen %d, %d confirm runs; want 7, 0, 1", a, fr, f.runs[barrier.OpConfirm])
	}
}

func TestTccFailedCancelRunsAgainInALaterEpochOnce(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	f.ok(f.b.Try(ctx, tccKey, f.freeze(4)))
	f.ok(f.b.Cancel(ctx, tccKey, 0, ledgerClosed))
	if d := f.ok(f.b.Cancel(ctx, tccKey, 0, mustNotRun(t))); d.Kind != barrier.KindDuplicate || d.Result.OK() {
		t.Fatalf("duplicate at epoch 0 = %+v; want the stored FAILED", d)
	}
	if d := f.ok(f.b.Cancel(ctx, tccKey, 1, f.release(4))); d.Kind != barrier.KindNewEpoch || !d.Result.OK() {
		t.Fatalf("cancel at epoch 1 = %+v; want it decided again and SUCCEEDED", d)
	}
	if d := f.ok(f.b.Cancel(ctx, tccKey, 2, mustNotRun(t))); d.Kind != barrier.KindDuplicate || !d.Result.OK() {
		t.Fatalf("cancel at epoch 2 = %+v; want the stored SUCCEEDED", d)
	}
	if a, fr := f.stock(); a != 10 || fr != 0 || f.runs[barrier.OpCancel] != 1 {
		t.Fatalf("available %d frozen %d, %d cancel runs; want 10, 0, 1", a, fr, f.runs[barrier.OpCancel])
	}
}

func TestTccFailureOfALaterEpochAnswersAnOlderOne(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	f.ok(f.b.Try(ctx, tccKey, f.freeze(3)))
	f.ok(f.b.Confirm(ctx, tccKey, 2, ledgerClosed))
	if d := f.ok(f.b.Confirm(ctx, tccKey, 1, mustNotRun(t))); d.Kind != barrier.KindDuplicate || d.Result.ErrorCode != "LEDGER_CLOSED" {
		t.Fatalf("confirm at epoch 1 after a failure at 2 = %+v; want the stored FAILED", d)
	}
	if got := f.epochOf(tccKey, "confirm"); got != 2 {
		t.Fatalf("confirm row epoch %d, want 2", got)
	}
}

func TestTccSucceededConfirmAndNullCancelNeverRunAgain(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	f.ok(f.b.Try(ctx, tccKey, f.freeze(3)))
	f.ok(f.b.Confirm(ctx, tccKey, 0, f.deduct(3)))
	if d := f.ok(f.b.Confirm(ctx, tccKey, 1, mustNotRun(t))); d.Kind != barrier.KindDuplicate || !d.Result.OK() {
		t.Fatalf("confirm at epoch 1 after success = %+v", d)
	}
	other := barrier.Key{SagaID: "tx-2", Step: "stock"}
	f.ok(f.b.Cancel(ctx, other, 0, mustNotRun(t)))
	if d := f.ok(f.b.Cancel(ctx, other, 1, mustNotRun(t))); d.Kind != barrier.KindDuplicate || !d.Result.OK() {
		t.Fatalf("null cancel at epoch 1 = %+v; want the stored null cancel", d)
	}
	if a, fr := f.stock(); a != 7 || fr != 0 || f.runs[barrier.OpConfirm] != 1 {
		t.Fatalf("available %d frozen %d, %d confirm runs; want 7, 0, 1", a, fr, f.runs[barrier.OpConfirm])
	}
}

func TestTccTransientErrorInTheNewEpochKeepsTheStoredFailure(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	f.ok(f.b.Try(ctx, tccKey, f.freeze(3)))
	f.ok(f.b.Confirm(ctx, tccKey, 0, ledgerClosed))
	boom := errors.New("ledger unavailable")
	_, err := f.b.Confirm(ctx, tccKey, 1, func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		if _, err := f.deduct(3)(ctx, tx); err != nil {
			return barrier.Result{}, err
		}
		return barrier.Result{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("confirm = %v, want the transient error", err)
	}
	if r, _ := f.row(tccKey, "confirm"); r.outcome != "FAILED" || f.epochOf(tccKey, "confirm") != 0 {
		t.Fatalf("after a transient error: row %+v at epoch %d; want FAILED at epoch 0", r, f.epochOf(tccKey, "confirm"))
	}
	if _, fr := f.stock(); fr != 3 {
		t.Fatalf("frozen %d after the rolled-back confirm, want 3", fr)
	}
	if d := f.ok(f.b.Confirm(ctx, tccKey, 1, f.deduct(3))); d.Kind != barrier.KindNewEpoch {
		t.Fatalf("retried confirm at epoch 1 = %+v; want new_epoch", d)
	}
	if _, fr := f.stock(); fr != 0 {
		t.Fatalf("frozen %d, want 0", fr)
	}
}

// A TCC table written before compensation epochs: Init adds the column (old
// rows are epoch 0) and a retried Confirm runs again.
func TestInitMigratesATccTableWithoutCompensationEpoch(t *testing.T) {
	ctx := context.Background()
	db, err := barrier.OpenSQLite(ctx, filepath.Join(t.TempDir(), "old.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec(`CREATE TABLE saga_barrier (
  saga_id TEXT NOT NULL, step TEXT NOT NULL, op TEXT NOT NULL, outcome TEXT NOT NULL, output BLOB,
  error_code TEXT NOT NULL DEFAULT '', error_message TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,
  PRIMARY KEY (saga_id, step, op));
INSERT INTO saga_barrier VALUES ('tx-1', 'stock', 'try', 'SUCCEEDED', NULL, '', '', 1);
INSERT INTO saga_barrier VALUES ('tx-1', 'stock', 'confirm', 'FAILED', NULL, 'LEDGER_CLOSED', 'closed', 1);`); err != nil {
		t.Fatal(err)
	}
	b := barrier.New(db)
	if err := b.Init(ctx); err != nil {
		t.Fatalf("init on an old table: %v", err)
	}
	if d, err := b.Confirm(ctx, tccKey, 0, mustNotRun(t)); err != nil || d.Result.ErrorCode != "LEDGER_CLOSED" {
		t.Fatalf("confirm at epoch 0 = %+v, %v; want the stored FAILED", d, err)
	}
	if d, err := b.Confirm(ctx, tccKey, 1, func(context.Context, *sql.Tx) (barrier.Result, error) {
		return barrier.Succeeded(nil), nil
	}); err != nil || d.Kind != barrier.KindNewEpoch || !d.Result.OK() {
		t.Fatalf("confirm at epoch 1 = %+v, %v; want it run again", d, err)
	}
}
