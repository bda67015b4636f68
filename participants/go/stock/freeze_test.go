package stock_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/saga-coordinator/participants/go/barrier"
	"github.com/saga-coordinator/participants/go/stock"
)

// TCC on stock through the TCC barrier: Try freezes, Confirm deducts, Cancel
// releases, each once; a null Cancel and a hanging Try change nothing.

var branch = barrier.Key{SagaID: "tcc-1", Step: "stock"}

func (f *fixture) tcc(op barrier.Op, key barrier.Key, payload string) barrier.Decision {
	f.t.Helper()
	ctx := context.Background()
	now := time.Now()
	var d barrier.Decision
	var err error
	switch op {
	case barrier.OpTry:
		d, err = f.b.Try(ctx, key, func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
			return stock.Freeze(ctx, tx, key, []byte(payload), now)
		})
	case barrier.OpConfirm:
		d, err = f.b.Confirm(ctx, key, 0, func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
			return stock.DeductFrozen(ctx, tx, key, now)
		})
	default:
		d, err = f.b.Cancel(ctx, key, 0, func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
			return stock.ReleaseFrozen(ctx, tx, key, now)
		})
	}
	if err != nil {
		f.t.Fatalf("%s: %v", op, err)
	}
	return d
}

func (f *fixture) freezeStatus(key barrier.Key) string {
	f.t.Helper()
	var status string
	err := f.db.QueryRow(`SELECT status FROM stock_freezes WHERE saga_id = ? AND step = ?`, key.SagaID, key.Step).Scan(&status)
	if err == sql.ErrNoRows {
		return ""
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return status
}

const reserve3 = `{"sku":"A","quantity":3}`

func TestFreezeThenConfirmDeductsOnce(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":10}}`)
	if d := f.tcc(barrier.OpTry, branch, reserve3); !d.Result.OK() {
		t.Fatalf("try: %+v", d.Result)
	}
	f.tcc(barrier.OpTry, branch, reserve3) // duplicate
	if got := f.qty("A"); got != 7 {
		t.Fatalf("quantity after try = %d, want 7", got)
	}
	if s := f.freezeStatus(branch); s != stock.FreezeFrozen {
		t.Fatalf("status = %q", s)
	}
	f.tcc(barrier.OpConfirm, branch, "")
	if d := f.tcc(barrier.OpConfirm, branch, ""); d.Kind != barrier.KindDuplicate {
		t.Fatalf("second confirm kind = %q, want duplicate", d.Kind)
	}
	if got, s := f.qty("A"), f.freezeStatus(branch); got != 7 || s != stock.FreezeDeducted {
		t.Fatalf("after confirm: quantity %d status %q, want 7 DEDUCTED", got, s)
	}
}

func TestFreezeThenCancelReleasesOnce(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":10}}`)
	f.tcc(barrier.OpTry, branch, reserve3)
	f.tcc(barrier.OpCancel, branch, "")
	f.tcc(barrier.OpCancel, branch, "")
	if got, s := f.qty("A"), f.freezeStatus(branch); got != 10 || s != stock.FreezeReleased {
		t.Fatalf("after cancel: quantity %d status %q, want 10 RELEASED", got, s)
	}
}

func TestFreezeTooMuchFailsWithoutFreezing(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":2}}`)
	d := f.tcc(barrier.OpTry, branch, reserve3)
	if d.Result.OK() || d.Result.ErrorCode != stock.CodeInsufficientStock {
		t.Fatalf("try = %+v, want FAILED %s", d.Result, stock.CodeInsufficientStock)
	}
	if got, s := f.qty("A"), f.freezeStatus(branch); got != 2 || s != "" {
		t.Fatalf("quantity %d status %q, want 2 and no freeze", got, s)
	}
}

func TestNullCancelThenHangingTryRefused(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":10}}`)
	if d := f.tcc(barrier.OpCancel, branch, ""); d.Kind != barrier.KindNullCompensation {
		t.Fatalf("cancel kind = %q, want null compensation", d.Kind)
	}
	if d := f.tcc(barrier.OpTry, branch, reserve3); d.Result.OK() || d.Result.ErrorCode != barrier.ErrorCodeRejected {
		t.Fatalf("late try = %+v, want FAILED %s", d.Result, barrier.ErrorCodeRejected)
	}
	if got, s := f.qty("A"), f.freezeStatus(branch); got != 10 || s != "" {
		t.Fatalf("quantity %d status %q, want 10 and no freeze", got, s)
	}
}
