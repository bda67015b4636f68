// Package faults parses and applies the test-only fault directives of the
// participant process protocol (test/conformance/PARTICIPANT-PROTOCOL.md).
//
// A call's metadata may carry "fault.execute" (for Execute) or
// "fault.compensate" (for Compensate): a comma-separated list of directives
// name[=arg][@N]. "@N" limits a directive to attempts 1..N; without it the
// directive applies to every attempt. The directives are:
//
//	error-while-file=PATH  while PATH exists: gRPC UNAVAILABLE, no effect
//	error                  gRPC UNAVAILABLE, no effect
//	fail                   FAILED INJECTED_FAILURE, no effect (recorded by the barrier)
//	sleep-before=MS        wait MS ms ignoring the call's cancellation, then apply normally
//	sleep-after=MS         apply and commit, then wait MS ms before answering
//
// They are applied in that order whatever their order in the list:
// error-while-file and error answer before anything else; "fail" takes the
// place of the business effect inside the barrier (so the barrier's duplicate
// and hanging rules still come first and the failure is recorded);
// sleep-before delays the call before the barrier; sleep-after delays the
// answer after the commit. A participant uses a Plan like this:
//
//	plan, err := faults.ForCall(call.Metadata, faults.Execute, call.Attempt)
//	if err := plan.TransientError(); err != nil { return nil, err } // error-while-file, error
//	ctx, cancel := plan.SleepBefore(ctx, hardStop)                 // detached ctx if it slept
//	defer cancel()
//	// barrier; the business callback answers FAILED FailResult() when plan.Fail
//	if err := plan.SleepAfter(ctx); err != nil { return nil, err }
package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Op selects the metadata key.
type Op string

const (
	Execute    Op = "execute"
	Compensate Op = "compensate"
	// TCC branches (saga.v1.TccParticipant): "fault.try", "fault.confirm", "fault.cancel".
	Try     Op = "try"
	Confirm Op = "confirm"
	Cancel  Op = "cancel"
)

// MetadataKey is the metadata key holding the directives for op.
func MetadataKey(op Op) string { return "fault." + string(op) }

// Directive names.
const (
	ErrorWhileFile = "error-while-file"
	Error          = "error"
	Fail           = "fail"
	SleepBefore    = "sleep-before"
	SleepAfter     = "sleep-after"
)

// InjectedFailureCode is the error_code of the "fail" directive.
const InjectedFailureCode = "INJECTED_FAILURE"

// LateWorkTimeout bounds the work done after a sleep-before: the call's own
// deadline is ignored then (the request simulates one that arrives late), but
// the work must still end.
const LateWorkTimeout = 30 * time.Second

// Directive is one parsed directive.
type Directive struct {
	Name string
	// Arg is the text after '=' ("" if none).
	Arg string
	// MaxAttempt is N of "@N"; 0 means every attempt.
	MaxAttempt uint32
	// Duration is the wait of sleep-before / sleep-after.
	Duration time.Duration
}

// AppliesTo reports whether the directive is active for a 1-based attempt.
func (d Directive) AppliesTo(attempt uint32) bool {
	if attempt == 0 {
		attempt = 1
	}
	return d.MaxAttempt == 0 || attempt <= d.MaxAttempt
}

// Parse parses a directive list. An empty string is no directives. Unknown
// names, missing or bad arguments and bad "@N" are errors.
func Parse(s string) ([]Directive, error) {
	var out []Directive
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := parseOne(part)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func parseOne(part string) (Directive, error) {
	var d Directive
	body := part
	if at := strings.LastIndexByte(part, '@'); at >= 0 {
		n, err := strconv.ParseUint(part[at+1:], 10, 32)
		if err != nil || n == 0 {
			return Directive{}, fmt.Errorf("fault directive %q: bad attempt limit %q (want @N, N >= 1)", part, part[at+1:])
		}
		d.MaxAttempt = uint32(n)
		body = part[:at]
	}
	name, arg, hasArg := strings.Cut(body, "=")
	d.Name, d.Arg = strings.TrimSpace(name), strings.TrimSpace(arg)
	switch d.Name {
	case Error, Fail:
		if hasArg {
			return Directive{}, fmt.Errorf("fault directive %q: %s takes no argument", part, d.Name)
		}
	case ErrorWhileFile:
		if d.Arg == "" {
			return Directive{}, fmt.Errorf("fault directive %q: %s needs =PATH", part, d.Name)
		}
	case SleepBefore, SleepAfter:
		ms, err := strconv.ParseUint(d.Arg, 10, 32)
		if err != nil {
			return Directive{}, fmt.Errorf("fault directive %q: %s needs =MS (milliseconds)", part, d.Name)
		}
		d.Duration = time.Duration(ms) * time.Millisecond
	default:
		return Directive{}, fmt.Errorf("fault directive %q: unknown directive %q", part, d.Name)
	}
	return d, nil
}

// Plan is what the directives active for one call ask for.
type Plan struct {
	// ErrorWhileFiles are the paths of active error-while-file directives.
	ErrorWhileFiles []string
	// Error: answer UNAVAILABLE.
	Error bool
	// Fail: the business effect is replaced by FAILED INJECTED_FAILURE.
	Fail bool
	// SleepBeforeDur and SleepAfterDur are the total waits (0 = none).
	SleepBeforeDur time.Duration
	SleepAfterDur  time.Duration
}

// ErrInvalid wraps every parse error.
var ErrInvalid = errors.New("invalid fault directives")

// ForCall parses the directives for op from metadata and keeps those active
// for attempt. A parse error wraps ErrInvalid.
func ForCall(metadata map[string]string, op Op, attempt uint32) (Plan, error) {
	ds, err := Parse(metadata[MetadataKey(op)])
	if err != nil {
		return Plan{}, fmt.Errorf("%w: %s: %v", ErrInvalid, MetadataKey(op), err)
	}
	return PlanFor(ds, attempt), nil
}

// PlanFor keeps the directives active for attempt.
func PlanFor(ds []Directive, attempt uint32) Plan {
	var p Plan
	for _, d := range ds {
		if !d.AppliesTo(attempt) {
			continue
		}
		switch d.Name {
		case ErrorWhileFile:
			p.ErrorWhileFiles = append(p.ErrorWhileFiles, d.Arg)
		case Error:
			p.Error = true
		case Fail:
			p.Fail = true
		case SleepBefore:
			p.SleepBeforeDur += d.Duration
		case SleepAfter:
			p.SleepAfterDur += d.Duration
		}
	}
	return p
}

// Empty reports whether the plan does nothing.
func (p Plan) Empty() bool {
	return len(p.ErrorWhileFiles) == 0 && !p.Error && !p.Fail && p.SleepBeforeDur == 0 && p.SleepAfterDur == 0
}

// TransientError applies error-while-file then error: a gRPC UNAVAILABLE
// status error, or nil.
func (p Plan) TransientError() error {
	for _, path := range p.ErrorWhileFiles {
		if _, err := os.Stat(path); err == nil {
			return status.Errorf(codes.Unavailable, "injected fault: error-while-file (%s exists)", path)
		}
	}
	if p.Error {
		return status.Error(codes.Unavailable, "injected fault: error")
	}
	return nil
}

// FailResult is the code and message of the "fail" directive's answer.
func FailResult() (code, message string) {
	return InjectedFailureCode, "injected fault: fail"
}

// SleepBefore applies sleep-before: it waits the planned time ignoring ctx's
// cancellation and deadline (the request simulates one that arrives late). It
// returns the context to do the rest of the work with: ctx itself when there
// was no sleep, else a context detached from ctx's cancellation and bounded by
// LateWorkTimeout, so that the late request really reaches the barrier. abort
// (may be nil) ends the wait early; it is the process's hard stop, not the
// call's context.
func (p Plan) SleepBefore(ctx context.Context, abort <-chan struct{}) (context.Context, context.CancelFunc) {
	if p.SleepBeforeDur <= 0 {
		return ctx, func() {}
	}
	t := time.NewTimer(p.SleepBeforeDur)
	defer t.Stop()
	select {
	case <-t.C:
	case <-abort:
	}
	return context.WithTimeout(context.WithoutCancel(ctx), LateWorkTimeout)
}

// SleepAfter applies sleep-after (the effect is already committed): it waits
// the planned time, or until ctx ends, in which case it returns ctx's error as
// a gRPC status (the answer is lost either way).
func (p Plan) SleepAfter(ctx context.Context) error {
	if p.SleepAfterDur <= 0 {
		return nil
	}
	t := time.NewTimer(p.SleepAfterDur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}
