package barrier_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/saga-coordinator/participants/go/barrier"
)

// fixture is a fresh SQLite database with the barrier table and a counter
// standing in for business data.
type fixture struct {
	t   *testing.T
	db  *sql.DB
	b   *barrier.Barrier
	now time.Time
	mu  sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := barrier.OpenSQLite(ctx, filepath.Join(t.TempDir(), "participant.db"), 0)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	f := &fixture{t: t, db: db, now: time.UnixMilli(1_700_000_000_000)}
	f.b = barrier.New(db, barrier.WithClock(f.clock))
	if err := f.b.Init(ctx); err != nil {
		t.Fatalf("init: %v", err)
	}
	if _, err := db.Exec(`CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0)`); err != nil {
		t.Fatalf("counter: %v", err)
	}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fixture) counter() int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(`SELECT n FROM counter`).Scan(&n); err != nil {
		f.t.Fatalf("read counter: %v", err)
	}
	return n
}

type storedRow struct {
	outcome string
	output  []byte
	code    string
}

func (f *fixture) row(key barrier.Key, op string) (storedRow, bool) {
	f.t.Helper()
	var r storedRow
	err := f.db.QueryRow(`SELECT outcome, output, error_code FROM saga_barrier WHERE saga_id = ? AND step = ? AND op = ?`,
		key.SagaID, key.Step, op).Scan(&r.outcome, &r.output, &r.code)
	if errors.Is(err, sql.ErrNoRows) {
		return storedRow{}, false
	}
	if err != nil {
		f.t.Fatalf("read row: %v", err)
	}
	return r, true
}

func (f *fixture) rowCount() int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(`SELECT COUNT(*) FROM saga_barrier`).Scan(&n); err != nil {
		f.t.Fatalf("count rows: %v", err)
	}
	return n
}

// add returns a business callback that adds delta to the counter and succeeds
// with output, counting its calls.
func add(delta int, output string, calls *int) barrier.Business {
	return func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		*calls++
		if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = n + ?`, delta); err != nil {
			return barrier.Result{}, err
		}
		return barrier.Succeeded([]byte(output)), nil
	}
}

// mustNotRun fails the test if the barrier calls it.
func mustNotRun(t *testing.T) barrier.Business {
	return func(context.Context, *sql.Tx) (barrier.Result, error) {
		t.Errorf("business callback ran but the barrier should have skipped it")
		return barrier.Succeeded(nil), nil
	}
}

var key = barrier.Key{SagaID: "saga-1", Step: "reserve"}

func TestExecuteDuplicateReturnsStoredResultAndAppliesOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	calls := 0

	d1, err := f.b.Execute(ctx, key, add(1, `{"n":1}`, &calls))
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	if d1.Kind != barrier.KindApplied || !d1.Result.OK() || string(d1.Result.Output) != `{"n":1}` {
		t.Fatalf("first execute = %+v, want applied SUCCEEDED {\"n\":1}", d1)
	}

	d2, err := f.b.Execute(ctx, key, mustNotRun(t))
	if err != nil {
		t.Fatalf("duplicate execute: %v", err)
	}
	if d2.Kind != barrier.KindDuplicate || !d2.Result.OK() || string(d2.Result.Output) != `{"n":1}` {
		t.Fatalf("duplicate execute = %+v, want duplicate with the stored output", d2)
	}
	if calls != 1 || f.counter() != 1 {
		t.Fatalf("calls=%d counter=%d, want 1 and 1", calls, f.counter())
	}
	if r, ok := f.row(key, "execute"); !ok || r.outcome != "SUCCEEDED" || string(r.output) != `{"n":1}` {
		t.Fatalf("execute row = %+v (found %v), want SUCCEEDED with output", r, ok)
	}
}

func TestNullCompensationThenLateExecuteIsRejected(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	d, err := f.b.Compensate(ctx, key, 0, mustNotRun(t))
	if err != nil {
		t.Fatalf("compensate: %v", err)
	}
	if d.Kind != barrier.KindNullCompensation || !d.Result.OK() {
		t.Fatalf("compensate = %+v, want null compensation SUCCEEDED", d)
	}
	if r, ok := f.row(key, "compensate"); !ok || r.outcome != "NULL_COMPENSATION" {
		t.Fatalf("compensate row = %+v (found %v), want NULL_COMPENSATION", r, ok)
	}
	if r, ok := f.row(key, "execute"); !ok || r.outcome != "REJECTED" {
		t.Fatalf("execute row = %+v (found %v), want REJECTED", r, ok)
	}

	// The late (hanging) Execute is refused and has no effect.
	late, err := f.b.Execute(ctx, key, mustNotRun(t))
	if err != nil {
		t.Fatalf("late execute: %v", err)
	}
	if late.Kind != barrier.KindRejected || late.Result.OK() || late.Result.ErrorCode != barrier.ErrorCodeRejected {
		t.Fatalf("late execute = %+v, want rejected FAILED BARRIER_REJECTED", late)
	}
	if f.counter() != 0 {
		t.Fatalf("counter = %d, want 0", f.counter())
	}

	// A duplicate of the null compensation answers SUCCEEDED again.
	dup, err := f.b.Compensate(ctx, key, 0, mustNotRun(t))
	if err != nil {
		t.Fatalf("duplicate compensate: %v", err)
	}
	if dup.Kind != barrier.KindDuplicate || !dup.Result.OK() {
		t.Fatalf("duplicate compensate = %+v, want duplicate SUCCEEDED", dup)
	}
}

func TestExecuteAfterCompensateIsRejectedEvenWhenExecuted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	calls := 0
	if _, err := f.b.Execute(ctx, key, add(5, "x", &calls)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.Compensate(ctx, key, 0, add(-5, "y", &calls)); err != nil {
		t.Fatal(err)
	}
	d, err := f.b.Execute(ctx, key, mustNotRun(t))
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != barrier.KindRejected || d.Result.ErrorCode != barrier.ErrorCodeRejected {
		t.Fatalf("execute after compensate = %+v, want rejected", d)
	}
	// The stored execute row keeps its original outcome.
	if r, _ := f.row(key, "execute"); r.outcome != "SUCCEEDED" {
		t.Fatalf("execute row outcome = %q, want SUCCEEDED (not overwritten)", r.outcome)
	}
	if f.counter() != 0 || calls != 2 {
		t.Fatalf("counter=%d calls=%d, want 0 and 2", f.counter(), calls)
	}
}

func TestDuplicateCompensateAppliesOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	calls := 0
	if _, err := f.b.Execute(ctx, key, add(3, "took 3", &calls)); err != nil {
		t.Fatal(err)
	}
	d1, err := f.b.Compensate(ctx, key, 0, add(-3, "gave 3", &calls))
	if err != nil {
		t.Fatal(err)
	}
	if d1.Kind != barrier.KindApplied || string(d1.Result.Output) != "gave 3" {
		t.Fatalf("compensate = %+v, want applied", d1)
	}
	d2, err := f.b.Compensate(ctx, key, 0, mustNotRun(t))
	if err != nil {
		t.Fatal(err)
	}
	if d2.Kind != barrier.KindDuplicate || !d2.Result.OK() || string(d2.Result.Output) != "gave 3" {
		t.Fatalf("duplicate compensate = %+v, want duplicate with stored output", d2)
	}
	if f.counter() != 0 || calls != 2 {
		t.Fatalf("counter=%d calls=%d, want 0 and 2", f.counter(), calls)
	}
}

func TestBusinessFailureIsRecordedWithoutBusinessChange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	calls := 0
	failing := func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		calls++
		// A partial change before deciding to fail must not survive.
		if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = n + 100`); err != nil {
			return barrier.Result{}, err
		}
		return barrier.Failed("INSUFFICIENT_STOCK", "not enough"), nil
	}
	d, err := f.b.Execute(ctx, key, failing)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != barrier.KindApplied || d.Result.OK() || d.Result.ErrorCode != "INSUFFICIENT_STOCK" {
		t.Fatalf("execute = %+v, want applied FAILED INSUFFICIENT_STOCK", d)
	}
	if f.counter() != 0 {
		t.Fatalf("counter = %d, want 0 (failed business change discarded)", f.counter())
	}
	if r, ok := f.row(key, "execute"); !ok || r.outcome != "FAILED" || r.code != "INSUFFICIENT_STOCK" {
		t.Fatalf("execute row = %+v (found %v), want FAILED INSUFFICIENT_STOCK", r, ok)
	}

	dup, err := f.b.Execute(ctx, key, mustNotRun(t))
	if err != nil {
		t.Fatal(err)
	}
	if dup.Kind != barrier.KindDuplicate || dup.Result.OK() || dup.Result.ErrorCode != "INSUFFICIENT_STOCK" ||
		dup.Result.ErrorMessage != "not enough" {
		t.Fatalf("duplicate = %+v, want the stored failure", dup)
	}

	// Compensating a failed Execute is a null compensation.
	c, err := f.b.Compensate(ctx, key, 0, mustNotRun(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != barrier.KindNullCompensation || !c.Result.OK() {
		t.Fatalf("compensate = %+v, want null compensation", c)
	}
	if r, _ := f.row(key, "execute"); r.outcome != "FAILED" {
		t.Fatalf("execute row outcome = %q, want FAILED kept", r.outcome)
	}
	if calls != 1 {
		t.Fatalf("calls = %d, want 1", calls)
	}
}

func TestCompensationFailureIsRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	calls := 0
	if _, err := f.b.Execute(ctx, key, add(1, "", &calls)); err != nil {
		t.Fatal(err)
	}
	d, err := f.b.Compensate(ctx, key, 0, func(context.Context, *sql.Tx) (barrier.Result, error) {
		return barrier.Failed("CANNOT_UNDO", "gone"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Result.OK() || d.Result.ErrorCode != "CANNOT_UNDO" {
		t.Fatalf("compensate = %+v, want FAILED CANNOT_UNDO", d)
	}
	dup, err := f.b.Compensate(ctx, key, 0, mustNotRun(t))
	if err != nil {
		t.Fatal(err)
	}
	if dup.Kind != barrier.KindDuplicate || dup.Result.ErrorCode != "CANNOT_UNDO" {
		t.Fatalf("duplicate compensate = %+v, want stored FAILED", dup)
	}
	if f.counter() != 1 {
		t.Fatalf("counter = %d, want 1", f.counter())
	}
}

func TestTransientErrorRollsEverythingBack(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	boom := errors.New("disk on fire")
	_, err := f.b.Execute(ctx, key, func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = n + 1`); err != nil {
			return barrier.Result{}, err
		}
		return barrier.Result{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if f.counter() != 0 || f.rowCount() != 0 {
		t.Fatalf("counter=%d rows=%d, want 0 and 0 (rolled back)", f.counter(), f.rowCount())
	}

	// The retry runs the business again and applies it.
	calls := 0
	d, err := f.b.Execute(ctx, key, add(1, "ok", &calls))
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != barrier.KindApplied || calls != 1 || f.counter() != 1 {
		t.Fatalf("retry = %+v calls=%d counter=%d, want applied once", d, calls, f.counter())
	}

	// Same for a transient error in a compensation.
	_, err = f.b.Compensate(ctx, key, 0, func(context.Context, *sql.Tx) (barrier.Result, error) { return barrier.Result{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("compensate err = %v, want %v", err, boom)
	}
	if _, ok := f.row(key, "compensate"); ok {
		t.Fatalf("compensate row exists after a transient error")
	}
}

func TestCancelledContextRollsBack(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := f.b.Execute(ctx, key, func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = n + 1`); err != nil {
			return barrier.Result{}, err
		}
		cancel() // the call's deadline passes mid-transaction
		return barrier.Succeeded(nil), nil
	})
	if err == nil {
		t.Fatalf("execute with a cancelled context succeeded")
	}
	if f.counter() != 0 || f.rowCount() != 0 {
		t.Fatalf("counter=%d rows=%d, want 0 and 0", f.counter(), f.rowCount())
	}
}

func TestBadCallbackOutcomeIsAnError(t *testing.T) {
	f := newFixture(t)
	_, err := f.b.Execute(context.Background(), key, func(context.Context, *sql.Tx) (barrier.Result, error) {
		return barrier.Result{Outcome: barrier.OutcomeRejected}, nil
	})
	if err == nil || f.rowCount() != 0 {
		t.Fatalf("err=%v rows=%d, want an error and no row", err, f.rowCount())
	}
	if _, err := f.b.Execute(context.Background(), barrier.Key{SagaID: "s"}, mustNotRun(t)); err == nil {
		t.Fatalf("empty step accepted")
	}
}

func TestConcurrentDuplicatesApplyOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 16
	var (
		mu      sync.Mutex
		calls   int
		wg      sync.WaitGroup
		results = make([]barrier.Decision, n)
		errs    = make([]error, n)
	)
	business := func(ctx context.Context, tx *sql.Tx) (barrier.Result, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = n + 1`); err != nil {
			return barrier.Result{}, err
		}
		return barrier.Succeeded([]byte("once")), nil
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.b.Execute(ctx, key, business)
		}()
	}
	wg.Wait()
	applied := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !results[i].Result.OK() || string(results[i].Result.Output) != "once" {
			t.Fatalf("call %d = %+v", i, results[i])
		}
		if results[i].Kind == barrier.KindApplied {
			applied++
		}
	}
	if applied != 1 || calls != 1 || f.counter() != 1 {
		t.Fatalf("applied=%d calls=%d counter=%d, want 1/1/1", applied, calls, f.counter())
	}
}

func TestCleanupDeletesOnlyExpiredRows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	calls := 0
	old := barrier.Key{SagaID: "old", Step: "s"}
	if _, err := f.b.Execute(ctx, old, add(1, "", &calls)); err != nil {
		t.Fatal(err)
	}
	f.advance(barrier.DefaultRetention + time.Minute)
	fresh := barrier.Key{SagaID: "fresh", Step: "s"}
	if _, err := f.b.Execute(ctx, fresh, add(1, "", &calls)); err != nil {
		t.Fatal(err)
	}
	n, err := f.b.CleanupExpired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("deleted %d rows, want 1", n)
	}
	if _, ok := f.row(old, "execute"); ok {
		t.Fatalf("expired row kept")
	}
	if _, ok := f.row(fresh, "execute"); !ok {
		t.Fatalf("fresh row deleted")
	}
}

func TestStartCleanupRunsAndStops(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	if _, err := f.b.Execute(context.Background(), key, add(1, "", &calls)); err != nil {
		t.Fatal(err)
	}
	f.advance(barrier.DefaultRetention + time.Second)
	ran := make(chan int64, 1)
	wait := f.b.StartCleanup(ctx, time.Hour, func(n int64, err error) {
		if err != nil {
			t.Errorf("cleanup: %v", err)
		}
		select {
		case ran <- n:
		default:
		}
	})
	select {
	case n := <-ran:
		if n != 1 {
			t.Fatalf("first cleanup deleted %d rows, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("cleanup did not run")
	}
	cancel()
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("cleanup loop did not stop")
	}
}

func TestOpenSQLiteUsesWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dir with space?and#odd", "x.db")
	if _, err := barrier.OpenSQLite(context.Background(), path, 0); err == nil {
		t.Fatalf("opening in a missing directory succeeded")
	}
	path = filepath.Join(t.TempDir(), "odd name?#%.db")
	db, err := barrier.OpenSQLite(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var mode string
	var busy int
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || busy != 1000 {
		t.Fatalf("journal_mode=%s busy_timeout=%d, want wal and 1000", mode, busy)
	}
	var file string
	if err := db.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	if file != path {
		t.Fatalf("database file = %q, want %q", file, path)
	}
}
