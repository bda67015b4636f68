package barrier_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/saga-coordinator/participants/go/barrier"
)

// TCC on the barrier, with a freeze visible in a stock table: Try moves stock
// from available to frozen, Confirm deducts the frozen amount, Cancel releases it.

type tccFixture struct {
	*fixture
	runs map[barrier.Op]int
}

func newTccFixture(t *testing.T) *tccFixture {
	f := newFixture(t)
	if _, err := f.db.Exec(`CREATE TABLE stock (sku TEXT PRIMARY KEY, available INTEGER, frozen INTEGER); INSERT INTO stock VALUES ('A', 10, 0)`); err != nil {
		t.Fatalf("stock: %v", err)
	}
	return &tccFixture{fixture: f, runs: map[barrier.Op]int{}}
}

func (f *tccFixture) stock() (available, frozen int) {
	f.t.Helper()
	if err := f.db.QueryRow(`SELECT available, frozen FROM stock WHERE sku = 'A'`).Scan(&available, &frozen); err != nil {
		f.t.Fatalf("read stock: %v", err)
	}
	return available, frozen
}

func (f *tccFixture) change(op barrier.Op, sqlText string, n int) barrier.Business {
	return func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		f.runs[op]++
		r, err := tx.ExecContext(ctx, sqlText, n, n, n)
		if err != nil {
			return barrier.Result{}, err
		}
		if rows, _ := r.RowsAffected(); rows == 0 {
			return barrier.Failed("INSUFFICIENT_STOCK", "too little stock"), nil
		}
		return barrier.Succeeded([]byte("ok")), nil
	}
}

func (f *tccFixture) freeze(n int) barrier.Business {
	return f.change(barrier.OpTry, `UPDATE stock SET available = available - ?, frozen = frozen + ? WHERE sku = 'A' AND available >= ?`, n)
}

func (f *tccFixture) deduct(n int) barrier.Business {
	return f.change(barrier.OpConfirm, `UPDATE stock SET frozen = frozen - ? WHERE sku = 'A' AND ? = ?`, n)
}

func (f *tccFixture) release(n int) barrier.Business {
	return f.change(barrier.OpCancel, `UPDATE stock SET available = available + ?, frozen = frozen - ? WHERE sku = 'A' AND ? > 0`, n)
}

func (f *tccFixture) ok(d barrier.Decision, err error) barrier.Decision {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("barrier: %v", err)
	}
	return d
}

var tccKey = barrier.Key{SagaID: "tx-1", Step: "stock"}

func TestTccTryConfirmOnceUnderDuplicates(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	f.ok(f.b.Try(ctx, tccKey, f.freeze(3)))
	if d := f.ok(f.b.Try(ctx, tccKey, f.freeze(3))); d.Kind != barrier.KindDuplicate || !d.Result.OK() {
		t.Fatalf("duplicate try: %+v", d)
	}
	if a, fr := f.stock(); a != 7 || fr != 3 {
		t.Fatalf("after try: available %d frozen %d", a, fr)
	}
	f.ok(f.b.Confirm(ctx, tccKey, 0, f.deduct(3)))
	if d := f.ok(f.b.Confirm(ctx, tccKey, 0, f.deduct(3))); d.Kind != barrier.KindDuplicate {
		t.Fatalf("duplicate confirm: %+v", d)
	}
	if a, fr := f.stock(); a != 7 || fr != 0 {
		t.Fatalf("after confirm: available %d frozen %d", a, fr)
	}
	if f.runs[barrier.OpTry] != 1 || f.runs[barrier.OpConfirm] != 1 {
		t.Fatalf("runs %v", f.runs)
	}
}

func TestTccCancelReleasesOnce(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	f.ok(f.b.Try(ctx, tccKey, f.freeze(4)))
	f.ok(f.b.Cancel(ctx, tccKey, 0, f.release(4)))
	if d := f.ok(f.b.Cancel(ctx, tccKey, 0, f.release(4))); d.Kind != barrier.KindDuplicate {
		t.Fatalf("duplicate cancel: %+v", d)
	}
	if a, fr := f.stock(); a != 10 || fr != 0 || f.runs[barrier.OpCancel] != 1 {
		t.Fatalf("after cancel: available %d frozen %d runs %v", a, fr, f.runs)
	}
}

func TestTccNullCancelThenHangingTryRefused(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	if d := f.ok(f.b.Cancel(ctx, tccKey, 0, f.release(4))); d.Kind != barrier.KindNullCompensation || !d.Result.OK() {
		t.Fatalf("null cancel: %+v", d)
	}
	d := f.ok(f.b.Try(ctx, tccKey, f.freeze(4)))
	if d.Kind != barrier.KindRejected || d.Result.ErrorCode != barrier.ErrorCodeRejected {
		t.Fatalf("hanging try: %+v", d)
	}
	if a, fr := f.stock(); a != 10 || fr != 0 || len(f.runs) != 0 {
		t.Fatalf("stock %d/%d runs %v", a, fr, f.runs)
	}
	if r, _ := f.row(tccKey, "try"); r.outcome != "REJECTED" {
		t.Fatalf("try row %+v", r)
	}
	if r, _ := f.row(tccKey, "cancel"); r.outcome != "NULL_COMPENSATION" {
		t.Fatalf("cancel row %+v", r)
	}
}

func TestTccFailedTryFreezesNothingAndItsCancelIsNull(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	if d := f.ok(f.b.Try(ctx, tccKey, f.freeze(50))); d.Result.ErrorCode != "INSUFFICIENT_STOCK" {
		t.Fatalf("try: %+v", d)
	}
	if d := f.ok(f.b.Cancel(ctx, tccKey, 0, f.release(50))); d.Kind != barrier.KindNullCompensation {
		t.Fatalf("cancel: %+v", d)
	}
	if a, fr := f.stock(); a != 10 || fr != 0 {
		t.Fatalf("stock %d/%d", a, fr)
	}
}

func TestTccTransientTryErrorCommitsNothing(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	boom := errors.New("connection reset")
	_, err := f.b.Try(ctx, tccKey, func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		if _, err := f.freeze(2)(ctx, tx); err != nil {
			return barrier.Result{}, err
		}
		return barrier.Result{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("want the transient error, got %v", err)
	}
	if _, found := f.row(tccKey, "try"); found {
		t.Fatal("a transient error left a try row")
	}
	f.ok(f.b.Try(ctx, tccKey, f.freeze(2)))
	if a, fr := f.stock(); a != 8 || fr != 2 {
		t.Fatalf("stock %d/%d", a, fr)
	}
}

func TestTccOutOfOrderIsRefused(t *testing.T) {
	f := newTccFixture(t)
	ctx := context.Background()
	if d := f.ok(f.b.Confirm(ctx, tccKey, 0, f.deduct(1))); d.Result.ErrorCode != barrier.ErrorCodeOutOfOrder {
		t.Fatalf("confirm without try: %+v", d)
	}
	other := barrier.Key{SagaID: "tx-2", Step: "stock"}
	f.ok(f.b.Try(ctx, other, f.freeze(1)))
	f.ok(f.b.Confirm(ctx, other, 0, f.deduct(1)))
	if d := f.ok(f.b.Cancel(ctx, other, 0, f.release(1))); d.Result.ErrorCode != barrier.ErrorCodeOutOfOrder {
		t.Fatalf("cancel after confirm: %+v", d)
	}
	if a, fr := f.stock(); a != 9 || fr != 0 || f.runs[barrier.OpCancel] != 0 {
		t.Fatalf("stock %d/%d runs %v", a, fr, f.runs)
	}
}
