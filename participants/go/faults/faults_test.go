package faults_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/saga-coordinator/participants/go/faults"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want []faults.Directive
	}{
		{"", nil},
		{"  ", nil},
		{"error", []faults.Directive{{Name: "error"}}},
		{"error@2", []faults.Directive{{Name: "error", MaxAttempt: 2}}},
		{"fail", []faults.Directive{{Name: "fail"}}},
		{"sleep-before=1500@1", []faults.Directive{{Name: "sleep-before", Arg: "1500", MaxAttempt: 1, Duration: 1500 * time.Millisecond}}},
		{"sleep-after=20", []faults.Directive{{Name: "sleep-after", Arg: "20", Duration: 20 * time.Millisecond}}},
		{"error-while-file=/tmp/x@y/flag@3", []faults.Directive{{Name: "error-while-file", Arg: "/tmp/x@y/flag", MaxAttempt: 3}}},
		{"error@1, sleep-after=5 ,fail@2", []faults.Directive{
			{Name: "error", MaxAttempt: 1},
			{Name: "sleep-after", Arg: "5", Duration: 5 * time.Millisecond},
			{Name: "fail", MaxAttempt: 2},
		}},
	}
	for _, c := range cases {
		got, err := faults.Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	for _, in := range []string{
		"explode", "error=1", "fail=x", "error@0", "error@-1", "error@x", "error@",
		"sleep-before", "sleep-before=", "sleep-before=abc", "sleep-after=-5", "error-while-file", "error-while-file=",
	} {
		if _, err := faults.Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted a malformed directive", in)
		}
	}
	_, err := faults.ForCall(map[string]string{"fault.execute": "nope"}, faults.Execute, 1)
	if !errors.Is(err, faults.ErrInvalid) {
		t.Errorf("ForCall error = %v, want ErrInvalid", err)
	}
}

func TestAttemptLimit(t *testing.T) {
	md := map[string]string{"fault.execute": "error@2,sleep-after=7"}
	for attempt, wantErr := range map[uint32]bool{0: true, 1: true, 2: true, 3: false, 10: false} {
		p, err := faults.ForCall(md, faults.Execute, attempt)
		if err != nil {
			t.Fatal(err)
		}
		if p.Error != wantErr {
			t.Errorf("attempt %d: Error=%v, want %v", attempt, p.Error, wantErr)
		}
		if p.SleepAfterDur != 7*time.Millisecond {
			t.Errorf("attempt %d: SleepAfterDur=%v, want 7ms (no @N = every attempt)", attempt, p.SleepAfterDur)
		}
	}
}

func TestMetadataKeySelectsOp(t *testing.T) {
	md := map[string]string{"fault.execute": "fail", "fault.compensate": "error"}
	e, err := faults.ForCall(md, faults.Execute, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := faults.ForCall(md, faults.Compensate, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Fail || e.Error || c.Fail || !c.Error {
		t.Fatalf("execute plan %+v, compensate plan %+v: keys mixed up", e, c)
	}
	none, err := faults.ForCall(nil, faults.Execute, 1)
	if err != nil || !none.Empty() {
		t.Fatalf("no metadata: plan %+v err %v, want empty", none, err)
	}
}

func TestTransientErrors(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "flag")
	p, err := faults.ForCall(map[string]string{"fault.compensate": "error-while-file=" + flag}, faults.Compensate, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.TransientError(); err != nil {
		t.Fatalf("file missing: %v, want no error", err)
	}
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := status.Code(p.TransientError()); code != codes.Unavailable {
		t.Fatalf("file present: code %v, want Unavailable", code)
	}
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	if err := p.TransientError(); err != nil {
		t.Fatalf("file removed: %v, want no error", err)
	}

	e, _ := faults.ForCall(map[string]string{"fault.execute": "error"}, faults.Execute, 5)
	if code := status.Code(e.TransientError()); code != codes.Unavailable {
		t.Fatalf("error: code %v, want Unavailable", code)
	}
}

func TestSleepBeforeIgnoresCancellation(t *testing.T) {
	p, _ := faults.ForCall(map[string]string{"fault.execute": "sleep-before=50"}, faults.Execute, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller has already given up
	start := time.Now()
	work, done := p.SleepBefore(ctx, nil)
	defer done()
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("sleep-before returned after %v, want >= 50ms despite cancellation", waited)
	}
	if work.Err() != nil {
		t.Fatalf("work context is cancelled (%v); the late request must still be processed", work.Err())
	}

	// The hard stop ends the wait.
	long, _ := faults.ForCall(map[string]string{"fault.execute": "sleep-before=60000"}, faults.Execute, 1)
	abort := make(chan struct{})
	close(abort)
	returned := make(chan struct{})
	go func() {
		_, done := long.SleepBefore(context.Background(), abort)
		done()
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatalf("sleep-before ignored the hard stop")
	}

	// No sleep-before: the call's own context is kept.
	none := faults.Plan{}
	same, done2 := none.SleepBefore(ctx, nil)
	defer done2()
	if same != ctx {
		t.Fatalf("no sleep-before should keep the call context")
	}
}

func TestSleepAfterRespectsContext(t *testing.T) {
	p, _ := faults.ForCall(map[string]string{"fault.execute": "sleep-after=60000"}, faults.Execute, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if code := status.Code(p.SleepAfter(ctx)); code != codes.DeadlineExceeded {
		t.Fatalf("code %v, want DeadlineExceeded", code)
	}
	short, _ := faults.ForCall(map[string]string{"fault.execute": "sleep-after=10"}, faults.Execute, 1)
	start := time.Now()
	if err := short.SleepAfter(context.Background()); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 10*time.Millisecond {
		t.Fatalf("sleep-after did not wait")
	}
}
