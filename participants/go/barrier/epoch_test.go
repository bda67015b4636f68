package barrier_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/saga-coordinator/participants/go/barrier"
)

// failing is a compensation that cannot be done (yet): FAILED, no change.
func failing(calls *int) barrier.Business {
	return func(context.Context, *sql.Tx) (barrier.Result, error) {
		*calls++
		return barrier.Failed("CANNOT_UNDO", "the account is frozen"), nil
	}
}

func (f *fixture) epochOf(key barrier.Key, op string) int {
	f.t.Helper()
	var epoch int
	if err := f.db.QueryRow(`SELECT compensation_epoch FROM saga_barrier WHERE saga_id = ? AND step = ? AND op = ?`,
		key.SagaID, key.Step, op).Scan(&epoch); err != nil {
		f.t.Fatalf("read epoch: %v", err)
	}
	return epoch
}

func TestFailedCompensationRunsAgainInALaterEpochOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	calls := 0
	if _, err := f.b.Execute(ctx, key, add(1, "", &calls)); err != nil {
		t.Fatal(err)
	}
	failed := 0
	if d, err := f.b.Compensate(ctx, key, 0, failing(&failed)); err != nil || d.Result.ErrorCode != "CANNOT_UNDO" {
		t.Fatalf("compensate at epoch 0 = %+v, %v; want FAILED CANNOT_UNDO", d, err)
	}
	// A duplicate within epoch 0 is still answered from storage.
	if d, err := f.b.Compensate(ctx, key, 0, mustNotRun(t)); err != nil || d.Kind != barrier.KindDuplicate || d.Result.ErrorCode != "CANNOT_UNDO" {
		t.Fatalf("duplicate at epoch 0 = %+v, %v; want the stored FAILED", d, err)
	}

	undone := 0
	d, err := f.b.Compensate(ctx, key, 1, add(-1, "undone", &undone))
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != barrier.KindNewEpoch || !d.Result.OK() || string(d.Result.Output) != "undone" {
		t.Fatalf("compensate at epoch 1 = %+v, want the compensation run again (new_epoch, SUCCEEDED)", d)
	}
	if undone != 1 || f.counter() != 0 {
		t.Fatalf("compensation ran %d times, counter = %d; want 1 and 0", undone, f.counter())
	}
	if r, _ := f.row(key, "compensate"); r.outcome != "SUCCEEDED" || f.epochOf(key, "compensate") != 1 {
		t.Fatalf("compensate row = %+v at epoch %d, want SUCCEEDED at epoch 1", r, f.epochOf(key, "compensate"))
	}
	// Duplicates of epoch 1, a late call of epoch 0 and a later epoch all get the stored success: one effect.
	for _, epoch := range []uint32{1, 0, 2} {
		d, err := f.b.Compensate(ctx, key, epoch, mustNotRun(t))
		if err != nil || d.Kind != barrier.KindDuplicate || !d.Result.OK() || string(d.Result.Output) != "undone" {
			t.Fatalf("compensate at epoch %d after success = %+v, %v; want the stored SUCCEEDED", epoch, d, err)
		}
	}
	if f.counter() != 0 || failed != 1 {
		t.Fatalf("counter = %d, failing ran %d times; want 0 and 1", f.counter(), failed)
	}
}

func TestSucceededCompensationIsNotRunAgainInALaterEpoch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	calls := 0
	if _, err := f.b.Execute(ctx, key, add(1, "", &calls)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.Compensate(ctx, key, 0, add(-1, "undone", &calls)); err != nil {
		t.Fatal(err)
	}
	// E.g. its answer was lost until the budget ran out, the saga went MANUAL and was retried.
	d, err := f.b.Compensate(ctx, key, 1, mustNotRun(t))
	if err != nil || d.Kind != barrier.KindDuplicate || !d.Result.OK() {
		t.Fatalf("compensate at epoch 1 = %+v, %v; want the stored SUCCEEDED", d, err)
	}
	if f.counter() != 0 {
		t.Fatalf("counter = %d, want 0 (compensated once)", f.counter())
	}
}

func TestTransientErrorInANewEpochKeepsTheStoredFailure(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	calls := 0
	if _, err := f.b.Execute(ctx, key, add(1, "", &calls)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.Compensate(ctx, key, 0, failing(&calls)); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("database of the bank unavailable")
	_, err := f.b.Compensate(ctx, key, 1, func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = n - 1`); err != nil {
			return barrier.Result{}, err
		}
		return barrier.Result{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("compensate = %v, want the transient error", err)
	}
	if r, _ := f.row(key, "compensate"); r.outcome != "FAILED" || f.epochOf(key, "compensate") != 0 || f.counter() != 1 {
		t.Fatalf("after a transient error: row %+v at epoch %d, counter %d; want FAILED at epoch 0, counter 1",
			r, f.epochOf(key, "compensate"), f.counter())
	}
	// The retry of that attempt runs it again.
	if d, err := f.b.Compensate(ctx, key, 1, add(-1, "", &calls)); err != nil || d.Kind != barrier.KindNewEpoch || f.counter() != 0 {
		t.Fatalf("retried compensate at epoch 1 = %+v, %v, counter %d; want new_epoch, counter 0", d, err, f.counter())
	}
}

// A database written by a barrier without compensation epochs: Init adds the
// column (old rows are epoch 0) and a retried compensation runs again.
func TestInitMigratesATableWithoutCompensationEpoch(t *testing.T) {
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
CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (1);
INSERT INTO saga_barrier VALUES ('saga-1', 'reserve', 'execute', 'SUCCEEDED', NULL, '', '', 1);
INSERT INTO saga_barrier VALUES ('saga-1', 'reserve', 'compensate', 'FAILED', NULL, 'CANNOT_UNDO', 'frozen', 1);`); err != nil {
		t.Fatal(err)
	}
	b := barrier.New(db)
	if err := b.Init(ctx); err != nil {
		t.Fatalf("init on an old table: %v", err)
	}
	if err := b.Init(ctx); err != nil {
		t.Fatalf("second init: %v", err)
	}
	if d, err := b.Compensate(ctx, key, 0, mustNotRun(t)); err != nil || d.Result.ErrorCode != "CANNOT_UNDO" {
		t.Fatalf("compensate at epoch 0 = %+v, %v; want the stored FAILED", d, err)
	}
	calls := 0
	if d, err := b.Compensate(ctx, key, 1, add(-1, "", &calls)); err != nil || d.Kind != barrier.KindNewEpoch || !d.Result.OK() {
		t.Fatalf("compensate at epoch 1 = %+v, %v; want it run again", d, err)
	}
	var n int
	if err := db.QueryRow(`SELECT n FROM counter`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("counter = %d (%v), want 0", n, err)
	}
}
