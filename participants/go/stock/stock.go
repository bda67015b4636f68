// Package stock is the stock business logic of the example participant
// (test/conformance/PARTICIPANT-PROTOCOL.md, "Stock"): deduct reserves
// quantity of a SKU, restore puts back exactly what the matching deduct took.
//
// Deduct and Restore are meant to run inside the saga barrier's transaction
// (wrap them in a barrier.Business closure) and write only through the
// *sql.Tx they are given.
package stock

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/saga-coordinator/participants/go/barrier"
)

// Action names.
const (
	ActionDeduct  = "deduct"
	ActionRestore = "restore"
)

// Business error codes.
const (
	CodeInsufficientStock = "INSUFFICIENT_STOCK"
	CodeInvalidPayload    = "INVALID_PAYLOAD"
)

// Schema is the stock tables.
var Schema = []string{
	`CREATE TABLE IF NOT EXISTS stock (
  sku      TEXT PRIMARY KEY,
  quantity INTEGER NOT NULL
)`,
	`CREATE TABLE IF NOT EXISTS stock_movements (
  saga_id    TEXT,
  step       TEXT,
  sku        TEXT,
  delta      INTEGER,
  created_at INTEGER
)`,
	`CREATE INDEX IF NOT EXISTS stock_movements_saga_step ON stock_movements (saga_id, step)`,
}

// Init creates the stock tables if missing.
func Init(ctx context.Context, db *sql.DB) error {
	for _, stmt := range append(append([]string{}, Schema...), FreezeSchema...) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("stock: create schema: %w", err)
		}
	}
	return nil
}

// Seed is the PARTICIPANT_SEED object; only "stock" is used.
type Seed struct {
	Stock map[string]int64 `json:"stock"`
}

// ParseSeed parses PARTICIPANT_SEED ("" = {}).
func ParseSeed(s string) (Seed, error) {
	var seed Seed
	if len(bytes.TrimSpace([]byte(s))) == 0 {
		return seed, nil
	}
	if err := json.Unmarshal([]byte(s), &seed); err != nil {
		return Seed{}, fmt.Errorf("stock: PARTICIPANT_SEED is not a JSON object like {\"stock\":{\"A\":10}}: %w", err)
	}
	for sku, q := range seed.Stock {
		if sku == "" || q < 0 {
			return Seed{}, fmt.Errorf("stock: PARTICIPANT_SEED: bad entry %q: %d (want a non-empty sku and a quantity >= 0)", sku, q)
		}
	}
	return seed, nil
}

// ApplySeed inserts the seed's SKUs that do not exist yet (INSERT OR IGNORE).
func ApplySeed(ctx context.Context, db *sql.DB, seed Seed) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("stock: seed: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for sku, q := range seed.Stock {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO stock (sku, quantity) VALUES (?, ?)`, sku, q); err != nil {
			return fmt.Errorf("stock: seed %q: %w", sku, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("stock: seed: %w", err)
	}
	return nil
}

// Payload is the step payload of deduct (and of restore, which ignores it).
type Payload struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// DeductOutput is the output of a successful deduct.
type DeductOutput struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	Remaining int64  `json:"remaining"`
}

// RestoreOutput is the output of a successful restore.
type RestoreOutput struct {
	// Restored lists, per SKU, what was put back (empty if the deduct took nothing).
	Restored []RestoredItem `json:"restored"`
}

// RestoredItem is one SKU put back by restore.
type RestoredItem struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	Remaining int64  `json:"remaining"`
}

// ParsePayload decodes and validates a deduct payload.
func ParsePayload(payload []byte) (Payload, error) {
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&p); err != nil {
		return Payload{}, fmt.Errorf("payload is not JSON {\"sku\":string,\"quantity\":integer}: %v", err)
	}
	if dec.More() {
		return Payload{}, errors.New("payload has trailing data after the JSON object")
	}
	if p.SKU == "" {
		return Payload{}, errors.New("payload: sku is required")
	}
	if p.Quantity <= 0 {
		return Payload{}, fmt.Errorf("payload: quantity must be a positive integer, got %d", p.Quantity)
	}
	return p, nil
}

// Deduct takes payload.quantity of payload.sku. Unknown SKU or too little
// stock → FAILED INSUFFICIENT_STOCK; bad payload → FAILED INVALID_PAYLOAD.
// The movement (negative delta) is recorded for the matching restore.
func Deduct(ctx context.Context, tx *sql.Tx, key barrier.Key, payload []byte, now time.Time) (barrier.Result, error) {
	p, err := ParsePayload(payload)
	if err != nil {
		return barrier.Failed(CodeInvalidPayload, err.Error()), nil
	}
	r, err := tx.ExecContext(ctx, `UPDATE stock SET quantity = quantity - ? WHERE sku = ? AND quantity >= ?`,
		p.Quantity, p.SKU, p.Quantity)
	if err != nil {
		return barrier.Result{}, fmt.Errorf("stock: deduct: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return barrier.Result{}, fmt.Errorf("stock: deduct: %w", err)
	}
	if n == 0 {
		var have int64
		err := tx.QueryRowContext(ctx, `SELECT quantity FROM stock WHERE sku = ?`, p.SKU).Scan(&have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return barrier.Failed(CodeInsufficientStock, fmt.Sprintf("unknown sku %q", p.SKU)), nil
		case err != nil:
			return barrier.Result{}, fmt.Errorf("stock: deduct: %w", err)
		}
		return barrier.Failed(CodeInsufficientStock,
			fmt.Sprintf("sku %q: %d requested, %d in stock", p.SKU, p.Quantity, have)), nil
	}
	var remaining int64
	if err := tx.QueryRowContext(ctx, `SELECT quantity FROM stock WHERE sku = ?`, p.SKU).Scan(&remaining); err != nil {
		return barrier.Result{}, fmt.Errorf("stock: deduct: %w", err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO stock_movements (saga_id, step, sku, delta, created_at) VALUES (?, ?, ?, ?, ?)`,
		key.SagaID, key.Step, p.SKU, -p.Quantity, now.UnixMilli()); err != nil {
		return barrier.Result{}, fmt.Errorf("stock: deduct: %w", err)
	}
	out, err := json.Marshal(DeductOutput{SKU: p.SKU, Quantity: p.Quantity, Remaining: remaining})
	if err != nil {
		return barrier.Result{}, fmt.Errorf("stock: deduct: %w", err)
	}
	return barrier.Succeeded(out), nil
}

// Restore puts back what the deduct of (saga, step) took, read from
// stock_movements, and records the positive movement. It puts back only the
// net amount still missing for that saga step, so running it twice restores
// once (the barrier already prevents the second run; this is defence in
// depth). The payload is not needed and is ignored.
func Restore(ctx context.Context, tx *sql.Tx, key barrier.Key, now time.Time) (barrier.Result, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT sku, SUM(delta) FROM stock_movements WHERE saga_id = ? AND step = ? GROUP BY sku ORDER BY sku`,
		key.SagaID, key.Step)
	if err != nil {
		return barrier.Result{}, fmt.Errorf("stock: restore: %w", err)
	}
	type net struct {
		sku   string
		delta int64
	}
	var nets []net
	for rows.Next() {
		var n net
		if err := rows.Scan(&n.sku, &n.delta); err != nil {
			_ = rows.Close()
			return barrier.Result{}, fmt.Errorf("stock: restore: %w", err)
		}
		nets = append(nets, n)
	}
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return barrier.Result{}, fmt.Errorf("stock: restore: %w", err)
	}
	_ = rows.Close()

	out := RestoreOutput{Restored: []RestoredItem{}}
	for _, n := range nets {
		if n.delta >= 0 {
			continue // nothing missing for this sku
		}
		if n.delta == math.MinInt64 {
			return barrier.Result{}, fmt.Errorf("stock: restore: movement overflow for sku %q", n.sku)
		}
		qty := -n.delta
		var remaining int64
		err := tx.QueryRowContext(ctx,
			`INSERT INTO stock (sku, quantity) VALUES (?, ?)
			 ON CONFLICT (sku) DO UPDATE SET quantity = quantity + excluded.quantity
			 RETURNING quantity`, n.sku, qty).Scan(&remaining)
		if err != nil {
			return barrier.Result{}, fmt.Errorf("stock: restore: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO stock_movements (saga_id, step, sku, delta, created_at) VALUES (?, ?, ?, ?, ?)`,
			key.SagaID, key.Step, n.sku, qty, now.UnixMilli()); err != nil {
			return barrier.Result{}, fmt.Errorf("stock: restore: %w", err)
		}
		out.Restored = append(out.Restored, RestoredItem{SKU: n.sku, Quantity: qty, Remaining: remaining})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return barrier.Result{}, fmt.Errorf("stock: restore: %w", err)
	}
	return barrier.Succeeded(b), nil
}

// Quantity reads the current quantity of sku (found=false if unknown).
func Quantity(ctx context.Context, db *sql.DB, sku string) (qty int64, found bool, err error) {
	err = db.QueryRowContext(ctx, `SELECT quantity FROM stock WHERE sku = ?`, sku).Scan(&qty)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("stock: read %q: %w", sku, err)
	}
	return qty, true, nil
}
