// Package server is the saga.v1.Participant gRPC service of the stock
// participant: it applies the fault directives, runs the stock business logic
// through the saga barrier and maps the outcome to a StepResult or a gRPC
// status.
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

// CheckTransaction answers UNKNOWN: the stock service never produces
// transactional messages (it never calls PrepareMessage), so it has no local
// transaction to report on.
func (s *Server) CheckTransaction(_ context.Context, req *sagav1.CheckTransactionRequest) (*sagav1.CheckTransactionResponse, error) {
	s.log.Info("check_transaction", "message_id", req.GetMessageId(), "check", req.GetCheck(),
		"status", sagav1.TransactionStatus_TRANSACTION_STATUS_UNKNOWN.String())
	return &sagav1.CheckTransactionResponse{Status: sagav1.TransactionStatus_TRANSACTION_STATUS_UNKNOWN}, nil
}

// handle runs one Execute or Compensate call.
func (s *Server) handle(ctx context.Context, call *sagav1.StepCall, op faults.Op) (result *sagav1.StepResult, err error) {
	started := time.Now()
	if call == nil {
		return nil, status.Error(codes.InvalidArgument, "request has no call")
	}
	log := s.log.With("op", string(op), "saga_id", call.GetSagaId(), "saga_name", call.GetSagaName(),
		"step", call.GetStepName(), "action", call.GetAction(), "attempt", call.GetAttempt())
	if op == faults.Compensate {
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
	switch {
	case op == faults.Execute && call.GetAction() == stock.ActionDeduct:
		payload := call.GetPayload()
		business = func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
			return stock.Deduct(ctx, tx, key, payload, s.now())
		}
	case op == faults.Compensate && call.GetAction() == stock.ActionRestore:
		business = func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
			return stock.Restore(ctx, tx, key, s.now())
		}
	default:
		want := stock.ActionDeduct
		if op == faults.Compensate {
			want = stock.ActionRestore
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

	var d barrier.Decision
	if op == faults.Execute {
		d, err = s.barrier.Execute(workCtx, key, business)
	} else {
		d, err = s.barrier.Compensate(workCtx, key, call.GetCompensationEpoch(), business)
	}
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
