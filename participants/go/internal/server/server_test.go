package server_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/saga-coordinator/participants/go/barrier"
	sagav1 "github.com/saga-coordinator/participants/go/gen/saga/v1"
	"github.com/saga-coordinator/participants/go/internal/server"
	"github.com/saga-coordinator/participants/go/stock"
)

func newServer(t *testing.T) (*server.Server, func(string) int64) {
	t.Helper()
	ctx := context.Background()
	db, err := barrier.OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"), 0)
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
	if err := stock.ApplySeed(ctx, db, stock.Seed{Stock: map[string]int64{"A": 10}}); err != nil {
		t.Fatal(err)
	}
	qty := func(sku string) int64 {
		q, _, err := stock.Quantity(ctx, db, sku)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	return server.New(b, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil), qty
}

func stepCall(saga, action string, md map[string]string) *sagav1.StepCall {
	return &sagav1.StepCall{SagaId: saga, StepName: "reserve", Action: action, Attempt: 1,
		Payload: []byte(`{"sku":"A","quantity":2}`), Metadata: md}
}

func TestBadRequests(t *testing.T) {
	s, _ := newServer(t)
	ctx := context.Background()
	if _, err := s.Execute(ctx, &sagav1.ExecuteRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("no call: %v", err)
	}
	c := stepCall("", "deduct", nil)
	if _, err := s.Execute(ctx, &sagav1.ExecuteRequest{Call: c}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("no saga id: %v", err)
	}
	if _, err := s.Compensate(ctx, &sagav1.CompensateRequest{Call: stepCall("s", "unknown", nil)}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown compensate action: %v", err)
	}
}

func TestCompensateFailFaultIsRecordedAndKeepsStock(t *testing.T) {
	s, qty := newServer(t)
	ctx := context.Background()
	r, err := s.Execute(ctx, &sagav1.ExecuteRequest{Call: stepCall("s1", "deduct", nil)})
	if err != nil || r.GetResult().GetOutcome() != sagav1.StepOutcome_STEP_OUTCOME_SUCCEEDED {
		t.Fatalf("deduct: %v %v", r, err)
	}
	md := map[string]string{"fault.compensate": "fail@1"}
	c, err := s.Compensate(ctx, &sagav1.CompensateRequest{Call: stepCall("s1", "restore", md)})
	if err != nil || c.GetResult().GetOutcome() != sagav1.StepOutcome_STEP_OUTCOME_FAILED ||
		c.GetResult().GetErrorCode() != "INJECTED_FAILURE" {
		t.Fatalf("compensate with fail: %v %v", c, err)
	}
	if qty("A") != 8 {
		t.Fatalf("A = %d, want 8 (failed compensation has no effect)", qty("A"))
	}
	// Attempt 2 has no fault, but the failure is recorded: the stored answer.
	call := stepCall("s1", "restore", md)
	call.Attempt = 2
	c, err = s.Compensate(ctx, &sagav1.CompensateRequest{Call: call})
	if err != nil || c.GetResult().GetErrorCode() != "INJECTED_FAILURE" {
		t.Fatalf("re-sent compensate: %v %v", c, err)
	}
}

func TestSleepBeforeProcessesAfterTheDeadline(t *testing.T) {
	s, qty := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	md := map[string]string{"fault.execute": "sleep-before=100"}
	r, err := s.Execute(ctx, &sagav1.ExecuteRequest{Call: stepCall("late", "deduct", md)})
	if err != nil || r.GetResult().GetOutcome() != sagav1.StepOutcome_STEP_OUTCOME_SUCCEEDED {
		t.Fatalf("late execute: %v %v, want it processed although the caller gave up", r, err)
	}
	if qty("A") != 8 {
		t.Fatalf("A = %d, want 8", qty("A"))
	}
	// Without sleep-before an expired deadline means no work.
	expired, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := s.Execute(expired, &sagav1.ExecuteRequest{Call: stepCall("gone", "deduct", nil)}); status.Code(err) != codes.Canceled {
		t.Fatalf("cancelled call: %v, want Canceled", err)
	}
	if qty("A") != 8 {
		t.Fatalf("A = %d, want 8", qty("A"))
	}
}

// The TCC server passes StepCall.compensation_epoch to the barrier: a Confirm
// that answered FAILED runs again when RetrySaga re-sends it at epoch 1.
func TestTccConfirmFailedRunsAgainAtTheNextCompensationEpoch(t *testing.T) {
	s, _ := newServer(t)
	tcc := s.Tcc()
	ctx := context.Background()
	if r, err := tcc.Try(ctx, &sagav1.TryRequest{Call: stepCall("t1", stock.ActionReserve, nil)}); err != nil ||
		r.GetResult().GetOutcome() != sagav1.StepOutcome_STEP_OUTCOME_SUCCEEDED {
		t.Fatalf("try: %v %v", r, err)
	}
	md := map[string]string{"fault.confirm": "fail@1"}
	if c, err := tcc.Confirm(ctx, &sagav1.ConfirmRequest{Call: stepCall("t1", stock.ActionReserve, md)}); err != nil ||
		c.GetResult().GetErrorCode() != "INJECTED_FAILURE" {
		t.Fatalf("confirm with fail: %v %v", c, err)
	}
	call := stepCall("t1", stock.ActionReserve, md)
	call.Attempt = 2
	if c, err := tcc.Confirm(ctx, &sagav1.ConfirmRequest{Call: call}); err != nil || c.GetResult().GetErrorCode() != "INJECTED_FAILURE" {
		t.Fatalf("re-sent confirm in the same epoch: %v %v; want the stored failure", c, err)
	}
	call.CompensationEpoch = 1
	if c, err := tcc.Confirm(ctx, &sagav1.ConfirmRequest{Call: call}); err != nil ||
		c.GetResult().GetOutcome() != sagav1.StepOutcome_STEP_OUTCOME_SUCCEEDED {
		t.Fatalf("confirm at epoch 1: %v %v; want it run again", c, err)
	}
}
