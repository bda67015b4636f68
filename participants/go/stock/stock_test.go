package stock_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/saga-coordinator/participants/go/barrier"
	"github.com/saga-coordinator/participants/go/stock"
)

type fixture struct {
	t  *testing.T
	db *sql.DB
	b  *barrier.Barrier
}

func newFixture(t *testing.T, seed string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := barrier.OpenSQLite(ctx, filepath.Join(t.TempDir(), "stock.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	b := barrier.New(db)
	if err := b.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := stock.Init(ctx, db); err != nil {
		t.Fatal(err)
	}
	s, err := stock.ParseSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := stock.ApplySeed(ctx, db, s); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, db: db, b: b}
}

func (f *fixture) qty(sku string) int64 {
	f.t.Helper()
	q, found, err := stock.Quantity(context.Background(), f.db, sku)
	if err != nil {
		f.t.Fatal(err)
	}
	if !found {
		f.t.Fatalf("sku %q not found", sku)
	}
	return q
}

func (f *fixture) deduct(key barrier.Key, payload string) barrier.Decision {
	f.t.Helper()
	d, err := f.b.Execute(context.Background(), key, func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		return stock.Deduct(ctx, tx, key, []byte(payload), time.Now())
	})
	if err != nil {
		f.t.Fatalf("deduct: %v", err)
	}
	return d
}

func (f *fixture) restore(key barrier.Key) barrier.Decision {
	f.t.Helper()
	d, err := f.b.Compensate(context.Background(), key, 0, func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		return stock.Restore(ctx, tx, key, time.Now())
	})
	if err != nil {
		f.t.Fatalf("restore: %v", err)
	}
	return d
}

func (f *fixture) movements(key barrier.Key) []int64 {
	f.t.Helper()
	rows, err := f.db.Query(`SELECT delta FROM stock_movements WHERE saga_id = ? AND step = ? ORDER BY rowid`, key.SagaID, key.Step)
	if err != nil {
		f.t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []int64
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

var k1 = barrier.Key{SagaID: "saga-1", Step: "reserve"}

func TestDeductOutputAndMovement(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":10}}`)
	d := f.deduct(k1, `{"sku":"A","quantity":2}`)
	if !d.Result.OK() {
		t.Fatalf("deduct = %+v, want SUCCEEDED", d)
	}
	if string(d.Result.Output) != `{"sku":"A","quantity":2,"remaining":8}` {
		t.Fatalf("output = %s", d.Result.Output)
	}
	if f.qty("A") != 8 {
		t.Fatalf("A = %d, want 8", f.qty("A"))
	}
	if m := f.movements(k1); len(m) != 1 || m[0] != -2 {
		t.Fatalf("movements = %v, want [-2]", m)
	}
}

func TestDeductInsufficientOrUnknown(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":3}}`)
	d := f.deduct(k1, `{"sku":"A","quantity":4}`)
	if d.Result.OK() || d.Result.ErrorCode != stock.CodeInsufficientStock {
		t.Fatalf("deduct 4 of 3 = %+v, want FAILED INSUFFICIENT_STOCK", d)
	}
	d = f.deduct(barrier.Key{SagaID: "saga-2", Step: "reserve"}, `{"sku":"Z","quantity":1}`)
	if d.Result.OK() || d.Result.ErrorCode != stock.CodeInsufficientStock {
		t.Fatalf("deduct unknown sku = %+v, want FAILED INSUFFICIENT_STOCK", d)
	}
	if f.qty("A") != 3 || len(f.movements(k1)) != 0 {
		t.Fatalf("stock changed by a failed deduct")
	}
	// Exactly all of it is fine.
	if d := f.deduct(barrier.Key{SagaID: "saga-3", Step: "reserve"}, `{"sku":"A","quantity":3}`); !d.Result.OK() {
		t.Fatalf("deduct all = %+v", d)
	}
	if f.qty("A") != 0 {
		t.Fatalf("A = %d, want 0", f.qty("A"))
	}
}

func TestDeductInvalidPayload(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":10}}`)
	for i, p := range []string{``, `nope`, `[]`, `{"sku":"A"}`, `{"quantity":1}`, `{"sku":"A","quantity":0}`,
		`{"sku":"A","quantity":-1}`, `{"sku":"A","quantity":1.5}`, `{"sku":"A","quantity":"2"}`, `{"sku":"A","quantity":1} x`} {
		key := barrier.Key{SagaID: "bad", Step: string(rune('a' + i))}
		d := f.deduct(key, p)
		if d.Result.OK() || d.Result.ErrorCode != stock.CodeInvalidPayload {
			t.Errorf("payload %q: %+v, want FAILED INVALID_PAYLOAD", p, d)
		}
	}
	if f.qty("A") != 10 {
		t.Fatalf("A = %d, want 10", f.qty("A"))
	}
}

func TestRestorePutsBackExactlyOnce(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":10,"B":5}}`)
	f.deduct(k1, `{"sku":"A","quantity":2}`)
	other := barrier.Key{SagaID: "saga-9", Step: "reserve"}
	f.deduct(other, `{"sku":"A","quantity":3}`)
	if f.qty("A") != 5 {
		t.Fatalf("A = %d, want 5", f.qty("A"))
	}

	d := f.restore(k1)
	if !d.Result.OK() || d.Kind != barrier.KindApplied {
		t.Fatalf("restore = %+v", d)
	}
	var out stock.RestoreOutput
	if err := json.Unmarshal(d.Result.Output, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Restored) != 1 || out.Restored[0] != (stock.RestoredItem{SKU: "A", Quantity: 2, Remaining: 7}) {
		t.Fatalf("restore output = %s", d.Result.Output)
	}
	if f.qty("A") != 7 {
		t.Fatalf("A = %d after restore, want 7 (only this saga's 2 back)", f.qty("A"))
	}
	if m := f.movements(k1); len(m) != 2 || m[1] != 2 {
		t.Fatalf("movements = %v, want [-2 2]", m)
	}

	// Duplicate compensation: stored answer, no second restore.
	if d := f.restore(k1); d.Kind != barrier.KindDuplicate || !d.Result.OK() {
		t.Fatalf("duplicate restore = %+v", d)
	}
	if f.qty("A") != 7 || f.qty("B") != 5 {
		t.Fatalf("A=%d B=%d, want 7 and 5", f.qty("A"), f.qty("B"))
	}
}

func TestRestoreIsIdempotentEvenWithoutBarrier(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":10}}`)
	f.deduct(k1, `{"sku":"A","quantity":4}`)
	for range 2 {
		tx, err := f.db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stock.Restore(context.Background(), tx, k1, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if f.qty("A") != 10 {
		t.Fatalf("A = %d, want 10 (restored once)", f.qty("A"))
	}
}

func TestRestoreWithoutDeductIsNullCompensation(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":10}}`)
	d := f.restore(k1)
	if d.Kind != barrier.KindNullCompensation || !d.Result.OK() {
		t.Fatalf("restore = %+v, want null compensation", d)
	}
	// The late deduct is refused.
	late := f.deduct(k1, `{"sku":"A","quantity":2}`)
	if late.Kind != barrier.KindRejected || late.Result.ErrorCode != barrier.ErrorCodeRejected {
		t.Fatalf("late deduct = %+v, want BARRIER_REJECTED", late)
	}
	if f.qty("A") != 10 {
		t.Fatalf("A = %d, want 10", f.qty("A"))
	}
}

func TestRestoreAfterFailedDeductRestoresNothing(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":1}}`)
	f.deduct(k1, `{"sku":"A","quantity":5}`)
	if d := f.restore(k1); d.Kind != barrier.KindNullCompensation {
		t.Fatalf("restore = %+v, want null compensation", d)
	}
	if f.qty("A") != 1 {
		t.Fatalf("A = %d, want 1", f.qty("A"))
	}
}

func TestSeed(t *testing.T) {
	f := newFixture(t, `{"stock":{"A":10}}`)
	f.deduct(k1, `{"sku":"A","quantity":2}`)
	// Re-seeding (a restart) does not overwrite existing rows.
	s, err := stock.ParseSeed(`{"stock":{"A":10,"C":1}}`)
	if err != nil {
		t.Fatal(err)
	}
	if err := stock.ApplySeed(context.Background(), f.db, s); err != nil {
		t.Fatal(err)
	}
	if f.qty("A") != 8 || f.qty("C") != 1 {
		t.Fatalf("A=%d C=%d, want 8 and 1", f.qty("A"), f.qty("C"))
	}
	for _, bad := range []string{`nope`, `[]`, `{"stock":{"A":-1}}`, `{"stock":{"":1}}`, `{"stock":{"A":1.5}}`} {
		if _, err := stock.ParseSeed(bad); err == nil {
			t.Errorf("ParseSeed(%q) accepted", bad)
		}
	}
	for _, ok := range []string{``, `{}`, `{"accounts":{"x":1}}`} {
		if _, err := stock.ParseSeed(ok); err != nil {
			t.Errorf("ParseSeed(%q): %v", ok, err)
		}
	}
}
