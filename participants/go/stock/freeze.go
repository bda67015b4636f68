package stock

// TCC on stock (saga.v1.TccParticipant, action "reserve"): Try freezes
// payload.quantity of payload.sku (taken from stock.quantity, recorded as a
// FROZEN row of stock_freezes), Confirm deducts what is frozen (the row
// becomes DEDUCTED), Cancel releases it (the quantity goes back, RELEASED).
// Each runs inside the TCC barrier's transaction, which answers duplicates,
// null cancels and hanging tries; the row's status makes Confirm and Cancel
// state-based too.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/saga-coordinator/participants/go/barrier"
)

// ActionReserve is the TCC action of the stock participant.
const ActionReserve = "reserve"

// Freeze statuses.
const (
	FreezeFrozen   = "FROZEN"
	FreezeDeducted = "DEDUCTED"
	FreezeReleased = "RELEASED"
)

// FreezeSchema is the table of TCC freezes, one row per (saga, branch).
var FreezeSchema = []string{
	`CREATE TABLE IF NOT EXISTS stock_freezes (
  saga_id    TEXT    NOT NULL,
  step       TEXT    NOT NULL,
  sku        TEXT    NOT NULL,
  quantity   INTEGER NOT NULL,
  status     TEXT    NOT NULL CHECK (status IN ('FROZEN', 'DEDUCTED', 'RELEASED')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (saga_id, step)
)`,
}

// FreezeOutput is the output of Try, Confirm and Cancel.
type FreezeOutput struct {
	SKU      string `json:"sku,omitempty"`
	Quantity int64  `json:"quantity,omitempty"`
	Status   string `json:"status"`
}

// Freeze is the Try: moves payload.quantity of payload.sku out of stock into a
// FROZEN row. Too little stock → FAILED INSUFFICIENT_STOCK, nothing frozen.
func Freeze(ctx context.Context, tx *sql.Tx, key barrier.Key, payload []byte, now time.Time) (barrier.Result, error) {
	p, err := ParsePayload(payload)
	if err != nil {
		return barrier.Failed(CodeInvalidPayload, err.Error()), nil
	}
	r, err := tx.ExecContext(ctx, `UPDATE stock SET quantity = quantity - ? WHERE sku = ? AND quantity >= ?`, p.Quantity, p.SKU, p.Quantity)
	if err != nil {
		return barrier.Result{}, fmt.Errorf("stock: freeze: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return barrier.Result{}, fmt.Errorf("stock: freeze: %w", err)
	} else if n == 0 {
		return barrier.Failed(CodeInsufficientStock, fmt.Sprintf("too little stock of %q to freeze %d", p.SKU, p.Quantity)), nil
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO stock_freezes (saga_id, step, sku, quantity, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'FROZEN', ?, ?)`,
		key.SagaID, key.Step, p.SKU, p.Quantity, now.UnixMilli(), now.UnixMilli()); err != nil {
		return barrier.Result{}, fmt.Errorf("stock: freeze: %w", err)
	}
	return freezeResult(FreezeOutput{SKU: p.SKU, Quantity: p.Quantity, Status: FreezeFrozen})
}

// DeductFrozen is the Confirm: the FROZEN row of (saga, branch) becomes DEDUCTED.
func DeductFrozen(ctx context.Context, tx *sql.Tx, key barrier.Key, now time.Time) (barrier.Result, error) {
	return settleFreeze(ctx, tx, key, FreezeDeducted, now)
}

// ReleaseFrozen is the Cancel: the frozen quantity goes back to stock, the row becomes RELEASED.
func ReleaseFrozen(ctx context.Context, tx *sql.Tx, key barrier.Key, now time.Time) (barrier.Result, error) {
	return settleFreeze(ctx, tx, key, FreezeReleased, now)
}

func settleFreeze(ctx context.Context, tx *sql.Tx, key barrier.Key, to string, now time.Time) (barrier.Result, error) {
	var sku, status string
	var qty int64
	err := tx.QueryRowContext(ctx, `SELECT sku, quantity, status FROM stock_freezes WHERE saga_id = ? AND step = ?`, key.SagaID, key.Step).Scan(&sku, &qty, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return freezeResult(FreezeOutput{Status: "NONE"})
	}
	if err != nil {
		return barrier.Result{}, fmt.Errorf("stock: %s: %w", to, err)
	}
	if status != FreezeFrozen {
		return freezeResult(FreezeOutput{SKU: sku, Quantity: qty, Status: status})
	}
	if to == FreezeReleased {
		if _, err := tx.ExecContext(ctx, `UPDATE stock SET quantity = quantity + ? WHERE sku = ?`, qty, sku); err != nil {
			return barrier.Result{}, fmt.Errorf("stock: release: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stock_freezes SET status = ?, updated_at = ? WHERE saga_id = ? AND step = ?`,
		to, now.UnixMilli(), key.SagaID, key.Step); err != nil {
		return barrier.Result{}, fmt.Errorf("stock: %s: %w", to, err)
	}
	return freezeResult(FreezeOutput{SKU: sku, Quantity: qty, Status: to})
}

func freezeResult(out FreezeOutput) (barrier.Result, error) {
	b, err := json.Marshal(out)
	if err != nil {
		return barrier.Result{}, fmt.Errorf("stock: freeze output: %w", err)
	}
	return barrier.Succeeded(b), nil
}
