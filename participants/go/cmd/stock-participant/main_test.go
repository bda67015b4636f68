package main

// End-to-end tests: build the real binary, start it as a process the way the
// conformance harness does, talk gRPC to it and stop it with SIGTERM.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/saga-coordinator/participants/go/barrier"
	sagav1 "github.com/saga-coordinator/participants/go/gen/saga/v1"
	"github.com/saga-coordinator/participants/go/stock"
)

const waitTimeout = 30 * time.Second

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stock-participant-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "stock-participant")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running participant process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	dbPath string
	client sagav1.ParticipantClient
	conn   *grpc.ClientConn

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every new stderr/stdout line
	logs      []map[string]any
	badLogs   []string
	stdout    []string
	exited    chan struct{}
	exitErr   error
	stdoutEOF chan struct{}
}

func startParticipant(t *testing.T, seed string, extraEnv ...string) *proc {
	t.Helper()
	p := &proc{
		t:         t,
		dbPath:    filepath.Join(t.TempDir(), "stock.db"),
		changed:   make(chan struct{}),
		exited:    make(chan struct{}),
		stdoutEOF: make(chan struct{}),
	}
	cmd := exec.Command(binPath)
	cmd.Env = append(os.Environ(),
		"PARTICIPANT_HOST=127.0.0.1",
		"PARTICIPANT_PORT=0",
		"PARTICIPANT_DB="+p.dbPath,
		"PARTICIPANT_SEED="+seed,
		"PARTICIPANT_LOG_LEVEL=debug",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.cmd = cmd
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() {
		defer pipes.Done()
		defer close(p.stdoutEOF)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.record(func() { p.stdout = append(p.stdout, sc.Text()) })
		}
	}()
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				p.record(func() { p.badLogs = append(p.badLogs, line) })
				continue
			}
			p.record(func() { p.logs = append(p.logs, m) })
		}
	}()
	go func() {
		pipes.Wait() // Wait must not run before the pipes are drained
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.conn != nil {
			_ = p.conn.Close()
		}
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})

	// The ready line.
	p.waitFor("the ready line", func() bool { return len(p.stdout) > 0 })
	p.mu.Lock()
	first := p.stdout[0]
	p.mu.Unlock()
	var ready map[string]string
	if err := json.Unmarshal([]byte(first), &ready); err != nil || len(ready) != 1 || ready["listening"] == "" {
		t.Fatalf("first stdout line %q is not {\"listening\":\"HOST:PORT\"}", first)
	}
	if want := fmt.Sprintf(`{"listening":%q}`, ready["listening"]); first != want {
		t.Fatalf("ready line %q, want exactly %q", first, want)
	}
	if !strings.HasPrefix(ready["listening"], "127.0.0.1:") || strings.HasSuffix(ready["listening"], ":0") {
		t.Fatalf("listening address %q, want 127.0.0.1:<ephemeral port>", ready["listening"])
	}
	p.addr = ready["listening"]
	conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	p.conn = conn
	p.client = sagav1.NewParticipantClient(conn)
	return p
}

func (p *proc) record(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitFor waits (bounded) until cond, evaluated under the lock, holds.
func (p *proc) waitFor(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok := cond()
		changed := p.changed
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-p.exited:
			p.mu.Lock()
			ok := cond()
			p.mu.Unlock()
			if !ok {
				p.t.Fatalf("process exited (%v) while waiting for %s; logs: %v", p.exitErr, what, p.logs)
			}
			return
		case <-deadline.C:
			p.t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
	}
}

// waitLog waits for a stderr JSON log line with all the given fields.
func (p *proc) waitLog(fields map[string]any) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("log line %v", fields), func() bool {
		for _, l := range p.logs {
			if matches(l, fields) {
				return true
			}
		}
		return false
	})
}

func matches(l map[string]any, fields map[string]any) bool {
	for k, v := range fields {
		if fmt.Sprint(l[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// stop sends SIGTERM and returns the exit error after a bounded wait.
func (p *proc) stop() error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(waitTimeout):
		p.t.Fatalf("process did not exit within %v of SIGTERM", waitTimeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

func (p *proc) checkStdoutOnlyReadyLine() {
	p.t.Helper()
	<-p.stdoutEOF
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.stdout) != 1 {
		p.t.Fatalf("stdout had %d lines %q, want only the ready line", len(p.stdout), p.stdout)
	}
	if len(p.badLogs) > 0 {
		p.t.Fatalf("non-JSON lines on stderr: %q", p.badLogs)
	}
}

func call(sagaID, step, action, payload string, attempt uint32, md map[string]string) *sagav1.StepCall {
	op := "execute"
	if action == stock.ActionRestore {
		op = "compensate"
	}
	return &sagav1.StepCall{
		SagaId:         sagaID,
		SagaName:       "order",
		StepName:       step,
		Action:         action,
		Payload:        []byte(payload),
		Attempt:        attempt,
		IdempotencyKey: sagaID + "/" + step + "/" + op,
		Metadata:       md,
	}
}

func (p *proc) execute(c *sagav1.StepCall, timeout time.Duration) (*sagav1.StepResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := p.client.Execute(ctx, &sagav1.ExecuteRequest{Call: c})
	return r.GetResult(), err
}

func (p *proc) compensate(c *sagav1.StepCall, timeout time.Duration) (*sagav1.StepResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := p.client.Compensate(ctx, &sagav1.CompensateRequest{Call: c})
	return r.GetResult(), err
}

func (p *proc) quantity(sku string) int64 {
	p.t.Helper()
	db, err := barrier.OpenSQLite(context.Background(), p.dbPath, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	q, found, err := stock.Quantity(context.Background(), db, sku)
	if err != nil || !found {
		p.t.Fatalf("quantity(%q): found=%v err=%v", sku, found, err)
	}
	return q
}

const (
	succeeded = sagav1.StepOutcome_STEP_OUTCOME_SUCCEEDED
	failed    = sagav1.StepOutcome_STEP_OUTCOME_FAILED
	rpcTime   = 10 * time.Second
)

func mustResult(t *testing.T, what string, r *sagav1.StepResult, err error, outcome sagav1.StepOutcome, code string) *sagav1.StepResult {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: rpc error %v", what, err)
	}
	if r.GetOutcome() != outcome || r.GetErrorCode() != code {
		t.Fatalf("%s: got %v %q (%s), want %v %q", what, r.GetOutcome(), r.GetErrorCode(), r.GetErrorMessage(), outcome, code)
	}
	return r
}

func TestProcessExecuteCompensateAndSigterm(t *testing.T) {
	p := startParticipant(t, `{"stock":{"A":10}}`)
	const payload = `{"sku":"A","quantity":2}`

	r, err := p.execute(call("s1", "reserve", "deduct", payload, 1, nil), rpcTime)
	mustResult(t, "deduct", r, err, succeeded, "")
	if string(r.GetOutput()) != `{"sku":"A","quantity":2,"remaining":8}` {
		t.Fatalf("deduct output %s", r.GetOutput())
	}
	// A re-send (same saga/step) answers the stored result and deducts nothing.
	r, err = p.execute(call("s1", "reserve", "deduct", payload, 2, nil), rpcTime)
	mustResult(t, "duplicate deduct", r, err, succeeded, "")
	if string(r.GetOutput()) != `{"sku":"A","quantity":2,"remaining":8}` {
		t.Fatalf("duplicate deduct output %s", r.GetOutput())
	}
	if q := p.quantity("A"); q != 8 {
		t.Fatalf("A = %d after deduct + duplicate, want 8", q)
	}

	r, err = p.compensate(call("s1", "reserve", "restore", payload, 1, nil), rpcTime)
	mustResult(t, "restore", r, err, succeeded, "")
	r, err = p.compensate(call("s1", "reserve", "restore", payload, 2, nil), rpcTime)
	mustResult(t, "duplicate restore", r, err, succeeded, "")
	if q := p.quantity("A"); q != 10 {
		t.Fatalf("A = %d after restore + duplicate, want 10", q)
	}

	r, err = p.execute(call("s2", "reserve", "deduct", `{"sku":"A","quantity":11}`, 1, nil), rpcTime)
	mustResult(t, "deduct too much", r, err, failed, stock.CodeInsufficientStock)

	r, err = p.execute(call("s3", "reserve", "deduct", `{"sku":`, 1, nil), rpcTime)
	mustResult(t, "bad payload", r, err, failed, stock.CodeInvalidPayload)

	_, err = p.execute(call("s4", "reserve", "explode", payload, 1, nil), rpcTime)
	if status.Code(err) != codes.Unimplemented || !strings.Contains(status.Convert(err).Message(), "explode") {
		t.Fatalf("unknown action: %v, want Unimplemented naming the action", err)
	}
	_, err = p.compensate(call("s4", "reserve", "deduct", payload, 1, nil), rpcTime)
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("deduct as a compensation: %v, want Unimplemented", err)
	}

	ct, err := p.client.CheckTransaction(context.Background(), &sagav1.CheckTransactionRequest{MessageId: "m1", Check: 1})
	if err != nil || ct.GetStatus() != sagav1.TransactionStatus_TRANSACTION_STATUS_UNKNOWN {
		t.Fatalf("CheckTransaction = %v, %v; want UNKNOWN", ct.GetStatus(), err)
	}

	if err := p.stop(); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0", err)
	}
	p.checkStdoutOnlyReadyLine()
	p.waitLog(map[string]any{"msg": "stopped gracefully"})
}

func TestProcessFaults(t *testing.T) {
	p := startParticipant(t, `{"stock":{"A":10}}`)
	const payload = `{"sku":"A","quantity":1}`

	// error@2: attempts 1 and 2 are transient errors without effect, 3 succeeds.
	md := map[string]string{"fault.execute": "error@2"}
	for attempt := uint32(1); attempt <= 2; attempt++ {
		_, err := p.execute(call("e1", "reserve", "deduct", payload, attempt, md), rpcTime)
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("attempt %d: %v, want Unavailable", attempt, err)
		}
	}
	if q := p.quantity("A"); q != 10 {
		t.Fatalf("A = %d after injected errors, want 10", q)
	}
	r, err := p.execute(call("e1", "reserve", "deduct", payload, 3, md), rpcTime)
	mustResult(t, "attempt 3", r, err, succeeded, "")

	// fail: a recorded business failure; the re-send answers the same.
	md = map[string]string{"fault.execute": "fail"}
	r, err = p.execute(call("f1", "reserve", "deduct", payload, 1, md), rpcTime)
	mustResult(t, "fail", r, err, failed, "INJECTED_FAILURE")
	r, err = p.execute(call("f1", "reserve", "deduct", payload, 2, nil), rpcTime)
	mustResult(t, "re-send after fail", r, err, failed, "INJECTED_FAILURE")

	// error-while-file on compensate.
	flag := filepath.Join(t.TempDir(), "down")
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	md = map[string]string{"fault.compensate": "error-while-file=" + flag}
	_, err = p.compensate(call("e1", "reserve", "restore", payload, 1, md), rpcTime)
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("compensate while file exists: %v, want Unavailable", err)
	}
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	r, err = p.compensate(call("e1", "reserve", "restore", payload, 2, md), rpcTime)
	mustResult(t, "compensate after file removed", r, err, succeeded, "")
	if q := p.quantity("A"); q != 10 {
		t.Fatalf("A = %d, want 10", q)
	}

	// A malformed directive is a clear error, not silently ignored.
	_, err = p.execute(call("x1", "reserve", "deduct", payload, 1, map[string]string{"fault.execute": "boom"}), rpcTime)
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("malformed directive: %v, want InvalidArgument", err)
	}

	// sleep-after: the effect is committed even though the caller times out.
	md = map[string]string{"fault.execute": "sleep-after=2000@1"}
	_, err = p.execute(call("sa", "reserve", "deduct", payload, 1, md), 300*time.Millisecond)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("sleep-after: %v, want DeadlineExceeded at the client", err)
	}
	r, err = p.execute(call("sa", "reserve", "deduct", payload, 2, md), rpcTime)
	mustResult(t, "retry after lost response", r, err, succeeded, "")
	if string(r.GetOutput()) != `{"sku":"A","quantity":1,"remaining":9}` {
		t.Fatalf("retry output %s, want the stored result of attempt 1", r.GetOutput())
	}

	if err := p.stop(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	p.checkStdoutOnlyReadyLine()
}

// The protocol's hanging scenario: Execute arrives late (sleep-before) after
// the coordinator timed out and compensated; it must be refused.
func TestProcessHangingExecuteIsRefused(t *testing.T) {
	p := startParticipant(t, `{"stock":{"A":10}}`)
	const payload = `{"sku":"A","quantity":3}`
	md := map[string]string{"fault.execute": "sleep-before=1500@1"}

	_, err := p.execute(call("h1", "reserve", "deduct", payload, 1, md), 300*time.Millisecond)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("late execute: %v, want DeadlineExceeded", err)
	}
	r, err := p.compensate(call("h1", "reserve", "restore", payload, 1, nil), rpcTime)
	mustResult(t, "null compensation", r, err, succeeded, "")
	p.waitLog(map[string]any{"msg": "call.end", "op": "compensate", "saga_id": "h1", "barrier": "null_compensation"})

	// The sleeping Execute wakes up, reaches the barrier and is refused.
	p.waitLog(map[string]any{"msg": "call.end", "op": "execute", "saga_id": "h1", "barrier": "rejected",
		"outcome": "STEP_OUTCOME_FAILED", "error_code": "BARRIER_REJECTED"})
	if q := p.quantity("A"); q != 10 {
		t.Fatalf("A = %d after a refused late execute, want 10", q)
	}

	if err := p.stop(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	p.checkStdoutOnlyReadyLine()
}

func TestProcessSigtermFinishesInFlightCall(t *testing.T) {
	p := startParticipant(t, `{"stock":{"A":10}}`)
	md := map[string]string{"fault.execute": "sleep-after=1000"}
	type answer struct {
		r   *sagav1.StepResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		r, err := p.execute(call("g1", "reserve", "deduct", `{"sku":"A","quantity":4}`, 1, md), rpcTime)
		done <- answer{r, err}
	}()
	// Once the handler has logged its start the call is in flight (it then
	// commits and sleeps 1 s before answering).
	p.waitLog(map[string]any{"msg": "call.start", "saga_id": "g1"})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-done:
		mustResult(t, "in-flight call", a.r, a.err, succeeded, "")
	case <-time.After(waitTimeout):
		t.Fatalf("in-flight call did not finish")
	}
	select {
	case <-p.exited:
	case <-time.After(waitTimeout):
		t.Fatalf("process did not exit after SIGTERM")
	}
	if p.exitErr != nil {
		t.Fatalf("exit: %v, want status 0", p.exitErr)
	}
	p.checkStdoutOnlyReadyLine()
	p.waitLog(map[string]any{"msg": "stopped gracefully"})
}

func TestProcessRequiresDB(t *testing.T) {
	cmd := exec.Command(binPath)
	cmd.Env = append(os.Environ(), "PARTICIPANT_DB=", "PARTICIPANT_SEED={}")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		t.Fatalf("started without PARTICIPANT_DB")
	}
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), "PARTICIPANT_DB") {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}

	cmd = exec.Command(binPath)
	cmd.Env = append(os.Environ(), "PARTICIPANT_DB="+filepath.Join(t.TempDir(), "x.db"), "PARTICIPANT_SEED=not json")
	stdout.Reset()
	cmd.Stdout = &stdout
	if err := cmd.Run(); err == nil || stdout.Len() != 0 {
		t.Fatalf("bad seed: err %v stdout %q, want failure and no ready line", err, stdout.String())
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	env := map[string]string{"PARTICIPANT_DB": "/tmp/x.db"}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.host != "127.0.0.1" || cfg.port != 0 || len(cfg.seed.Stock) != 0 {
		t.Fatalf("defaults = %+v", cfg)
	}
	for _, bad := range []map[string]string{
		{"PARTICIPANT_DB": "x", "PARTICIPANT_PORT": "70000"},
		{"PARTICIPANT_DB": "x", "PARTICIPANT_PORT": "abc"},
		{"PARTICIPANT_DB": "x", "PARTICIPANT_LOG_LEVEL": "loud"},
		{},
	} {
		if _, err := loadConfig(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("loadConfig(%v) accepted", bad)
		}
	}
}
