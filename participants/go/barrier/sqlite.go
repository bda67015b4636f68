package barrier

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	// Pure-Go SQLite driver (no cgo), registered as "sqlite".
	_ "modernc.org/sqlite"
)

// DefaultBusyTimeout is how long a connection waits for SQLite's write lock
// before giving up with SQLITE_BUSY.
const DefaultBusyTimeout = 5 * time.Second

// OpenSQLite opens (creating it if missing) the SQLite database at path the
// way the barrier expects it:
//
//   - WAL journal mode, so readers never block the writer;
//   - a busy timeout, so concurrent writers wait instead of failing;
//   - transactions begin with BEGIN IMMEDIATE (the driver's _txlock=immediate),
//     so every barrier transaction takes the write lock at its start and never
//     fails half-way when upgrading a read lock to a write lock;
//   - synchronous=NORMAL (durable in WAL mode except on power loss of the
//     last transactions; change with a _pragma on your own DSN if needed).
//
// If you open the database yourself, use equivalent settings.
func OpenSQLite(ctx context.Context, path string, busyTimeout time.Duration) (*sql.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("barrier: empty SQLite path")
	}
	if busyTimeout <= 0 {
		busyTimeout = DefaultBusyTimeout
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("barrier: resolve SQLite path %q: %w", path, err)
	}
	params := url.Values{}
	params.Add("_pragma", "busy_timeout("+strconv.FormatInt(busyTimeout.Milliseconds(), 10)+")")
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "synchronous(NORMAL)")
	params.Add("_pragma", "foreign_keys(1)")
	params.Add("_txlock", "immediate")
	// A file: URI so that any character in the path is escaped correctly.
	dsn := "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() + "?" + params.Encode()

	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("barrier: open SQLite %q: %w", path, err)
	}
	// Connections are cheap; a handful lets reads run beside the writer.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)

	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("barrier: open SQLite %q: %w", path, err)
	}
	if mode != "wal" {
		_ = db.Close()
		return nil, fmt.Errorf("barrier: SQLite %q: journal_mode is %q, want wal", path, mode)
	}
	return db, nil
}
