// Package server is the saga.v1.Participant and saga.v1.TccParticipant gRPC
// services of the stock participant: it applies the fault directives, runs the
// stock business logic through the saga (or TCC) barrier and maps the outcome
// to a StepResult or a gRPC status.
package server

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/saga-coordinator/participants/go/barrier"
	"github.com/saga-coordinator/participants/go/faults"
	sagav1 "github.com/saga-coordinator/participants/go/gen/saga/v1"
	"github.com/saga-coordinator/participants/go/stock"
)

// Server implements sagav1.ParticipantServer for the stock business.
type Server struct {
	sagav1.UnimplementedParticipantServer

	barrier *barrier.Barrier
	log     *slog.Logger
	now     func() time.Time
	// hardStop, when closed, ends sleep-before waits (the process is being
	// force-stopped); the call's own cancellation does not.
	hardStop <-chan struct{}
}

// New returns the service. hardStop may be nil.
func New(b *barrier.Barrier, log *slog.Logger, hardStop <-chan struct{}) *Server {
	return &Server{barrier: b, log: log, now: time.Now, hardStop: hardStop}
}

// Execute performs the forward action: "deduct".
func (s *Server) Execute(ctx context.Context, req *sagav1.ExecuteRequest) (*sagav1.ExecuteResponse, error) {
	res, err := s.handle(ctx, req.GetCall(), faults.Execute)
	if err != nil {
		return nil, err
	}
	return &sagav1.ExecuteResponse{Result: res}, nil
}

// Compensate undoes the forward action: "restore".
func (s *Server) Compensate(ctx context.Context, req *sagav1.CompensateRequest) (*sagav1.CompensateResponse, error) {
	res, err := s.handle(ctx, req.GetCall(), faults.Compensate)
	if err != nil {
		return nil, err
	}
	return &sagav1.CompensateResponse{Result: res}, nil
}

// Tcc returns the saga.v1.TccParticipant service of the same participant:
// action "reserve" freezes stock in Try, deducts it in Confirm, releases it in Cancel.
func (s *Server) Tcc() sagav1.TccParticipantServer { return tccServer{s: s} }

type tccServer struct {
	sagav1.UnimplementedTccParticipantServer
	s *Server
}

// Try freezes the stock of a branch.
func (t tccServer) Try(ctx context.Context, req *sagav1.TryRequest) (*sagav1.TryResponse, error) {
	res, err := t.s.handle(ctx, req.GetCall(), faults.Try)
	if err != nil {
		return nil, err
	}
	return &sagav1.TryResponse{Result: res}, nil
}

// Confirm deducts what Try froze.
func (t tccServer) Confirm(ctx context.Context, req *sagav1.ConfirmRequest) (*sagav1.ConfirmResponse, error) {
	res, err := t.s.handle(ctx, req.GetCall(), faults.Confirm)
	if err != nil {
		return nil, err
	}
	return &sagav1.ConfirmResponse{Result: res}, nil
}

// Cancel releases what Try froze (null cancel and hanging Try by the barrier).
func (t tccServer) Cancel(ctx context.Context, req *sagav1.CancelRequest) (*sagav1.CancelResponse, error) {
	res, err := t.s.handle(ctx, req.GetCall(), faults.Cancel)
	if err != nil {
		return nil, err
	}
	return &sagav1.CancelResponse{Result: res}, nil
}

// CheckTransaction answers UNKNOWN: the stock service never produces
// transactional messages (it never calls PrepareMessage), so it has no local
// transaction to report on.
func (s *Server) CheckTransaction(_ context.Context, req *sagav1.CheckTransactionRequest) (*sagav1.CheckTransactionResponse, error) {
	s.log.Info("check_transaction", "message_id", req.GetMessageId(), "check", req.GetCheck(),
		"status", sagav1.TransactionStatus_TRANSACTION_STATUS_UNKNOWN.String())
	return &sagav1.CheckTransactionResponse{Status: sagav1.TransactionStatus_TRANSACTION_STATUS_UNKNOWN}, nil
}

// handle runs one Execute, Compensate, Try, Confirm or Cancel call.
func (s *Server) handle(ctx context.Context, call *sagav1.StepCall, op faults.Op) (result *sagav1.StepResult, err error) {
	started := time.Now()
	if call == nil {
		return nil, status.Error(codes.InvalidArgument, "request has no call")
	}
	log := s.log.With("op", string(op), "saga_id", call.GetSagaId(), "saga_name", call.GetSagaName(),
		"step", call.GetStepName(), "action", call.GetAction(), "attempt", call.GetAttempt())
	if op == faults.Compensate || op == faults.Confirm || op == faults.Cancel {
		log = log.With("compensation_epoch", call.GetCompensationEpoch())
	}
	log.Debug("call.start")
	var kind barrier.Kind
	defer func() {
		attrs := []any{"duration_ms", time.Since(started).Milliseconds()}
		if err != nil {
			st := status.Convert(err)
			attrs = append(attrs, "grpc_code", st.Code().String(), "error", st.Message())
		} else {
			attrs = append(attrs, "barrier", string(kind), "outcome", result.GetOutcome().String())
			if code := result.GetErrorCode(); code != "" {
				attrs = append(attrs, "error_code", code)
			}
		}
		log.Info("call.end", attrs...)
	}()

	if call.GetSagaId() == "" || call.GetStepName() == "" {
		return nil, status.Error(codes.InvalidArgument, "call.saga_id and call.step_name are required")
	}
	var business func(ctx context.Context, tx *sql.Tx) (barrier.Result, error)
	key := barrier.Key{SagaID: call.GetSagaId(), Step: call.GetStepName()}
	payload := call.GetPayload()
	switch {
	case op == faults.Execute && call.GetAction() == stock.ActionDeduct:
		business = func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
			return stock.Deduct(ctx, tx, key, payload, s.now())
		}
	case op == faults.Compensate && call.GetAction() == stock.ActionRestore:
		business = func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
			return stock.Restore(ctx, tx, key, s.now())
		}
	case op == faults.Try && call.GetAction() == stock.ActionReserve:
		business = func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
			return stock.Freeze(ctx, tx, key, payload, s.now())
		}
	case op == faults.Confirm && call.GetAction() == stock.ActionReserve:
		business = func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
			return stock.DeductFrozen(ctx, tx, key, s.now())
		}
	case op == faults.Cancel && call.GetAction() == stock.ActionReserve:
		business = func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
			return stock.ReleaseFrozen(ctx, tx, key, s.now())
		}
	default:
		want := map[faults.Op]string{faults.Execute: stock.ActionDeduct, faults.Compensate: stock.ActionRestore}[op]
		if want == "" {
			want = stock.ActionReserve
		}
		return nil, status.Errorf(codes.Unimplemented,
			"stock participant: unknown %s action %q (supported: %q)", op, call.GetAction(), want)
	}

	plan, err := faults.ForCall(call.GetMetadata(), op, call.GetAttempt())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if !plan.Empty() {
		log.Info("faults", "metadata_key", faults.MetadataKey(op), "directives", call.GetMetadata()[faults.MetadataKey(op)])
	}
	if err := plan.TransientError(); err != nil {
		return nil, err
	}
	workCtx, cancel := plan.SleepBefore(ctx, s.hardStop)
	defer cancel()
	if plan.Fail {
		business = func(context.Context, *sql.Tx) (barrier.Result, error) {
			return barrier.Failed(faults.FailResult()), nil
		}
	}
	if err := workCtx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}

	// Compensate, Confirm and Cancel are decided per compensation epoch.
	atEpoch := func(guard func(context.Context, barrier.Key, uint32, barrier.Business) (barrier.Decision, error)) func(context.Context, barrier.Key, barrier.Business) (barrier.Decision, error) {
		return func(ctx context.Context, key barrier.Key, fn barrier.Business) (barrier.Decision, error) {
			return guard(ctx, key, call.GetCompensationEpoch(), fn)
		}
	}
	guard := map[faults.Op]func(context.Context, barrier.Key, barrier.Business) (barrier.Decision, error){
		faults.Execute:    s.barrier.Execute,
		faults.Compensate: atEpoch(s.barrier.Compensate),
		faults.Try:        s.barrier.Try,
		faults.Confirm:    atEpoch(s.barrier.Confirm),
		faults.Cancel:     atEpoch(s.barrier.Cancel),
	}[op]
	d, err := guard(workCtx, key, business)
	if err != nil {
		if ctxErr := workCtx.Err(); ctxErr != nil {
			// The deadline passed (or the caller went away) mid-transaction:
			// everything was rolled back; the coordinator retries.
			return nil, status.FromContextError(ctxErr).Err()
		}
		log.Error("barrier", "error", err.Error())
		return nil, status.Errorf(codes.Internal, "stock participant: %s %s/%s: %v", op, key.SagaID, key.Step, err)
	}
	kind = d.Kind

	if err := plan.SleepAfter(workCtx); err != nil {
		return nil, err
	}
	return toProto(d.Result), nil
}

func toProto(r barrier.Result) *sagav1.StepResult {
	if r.OK() {
		return &sagav1.StepResult{Outcome: sagav1.StepOutcome_STEP_OUTCOME_SUCCEEDED, Output: r.Output}
	}
	return &sagav1.StepResult{
		Outcome:      sagav1.StepOutcome_STEP_OUTCOME_FAILED,
		ErrorCode:    r.ErrorCode,
		ErrorMessage: r.ErrorMessage,
	}
}
