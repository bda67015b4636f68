// Command bench-participant is the benchmark's no-op saga.v1.Participant on
// grpc-go (test/src/bench, --participant-server go): every Execute and Compensate
// answers SUCCEEDED with no output at once, so that what a latency run measures
// is the coordinator, not the stand-in's own garbage collector (the grpc-js
// no-op participant pauses ~20 ms in each mark-compact; BENCHMARKS.md, session
// 13). It binds 127.0.0.1:0 (or BP_PORT), prints {"listening":"HOST:PORT"},
// then, every BP_REPORT_MS (default 200; 0 = never) while it changes, its
// counters in the grpc-js participant's form: {"calls":N,"held":0,"keys":0,"repeated":0}.
// SIGTERM stops it.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	sagav1 "github.com/saga-coordinator/participants/go/gen/saga/v1"
	"github.com/saga-coordinator/participants/go/internal/serve"
)

type participant struct {
	sagav1.UnimplementedParticipantServer
	calls *atomic.Int64
}

var succeeded = &sagav1.StepResult{Outcome: sagav1.StepOutcome_STEP_OUTCOME_SUCCEEDED}

func (p participant) Execute(context.Context, *sagav1.ExecuteRequest) (*sagav1.ExecuteResponse, error) {
	p.calls.Add(1)
	return &sagav1.ExecuteResponse{Result: succeeded}, nil
}

func (p participant) Compensate(context.Context, *sagav1.CompensateRequest) (*sagav1.CompensateResponse, error) {
	p.calls.Add(1)
	return &sagav1.CompensateResponse{Result: succeeded}, nil
}

func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "bench-participant: %s: %q is not a number >= 0\n", name, v)
		os.Exit(2)
	}
	return n
}

// report prints the counters every period while they change.
func report(calls *atomic.Int64, period time.Duration) {
	last := int64(-1)
	for range time.Tick(period) {
		if n := calls.Load(); n != last {
			last = n
			fmt.Printf("{\"calls\":%d,\"held\":0,\"keys\":0,\"repeated\":0}\n", n)
		}
	}
}

func main() {
	port := envInt("BP_PORT", 0)
	reportMs := envInt("BP_REPORT_MS", 200)
	lis, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-participant: listen: %v\n", err)
		os.Exit(1)
	}
	calls := &atomic.Int64{}
	srv := grpc.NewServer(grpc.MaxConcurrentStreams(1_000_000))
	sagav1.RegisterParticipantServer(srv, participant{calls: calls})
	serve.UntilSignal("bench-participant", srv, lis, func() {
		if reportMs > 0 {
			go report(calls, time.Duration(reportMs)*time.Millisecond)
		}
	})
}
