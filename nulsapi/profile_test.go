package nulsapi

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestShapeBalance: the ledger's answer renamed and summed; an answer
// without a balance (a Nulstar Connector masks a module's failure as {})
// is not a zero balance.
func TestShapeBalance(t *testing.T) {
	b, err := ShapeBalance(json.RawMessage(`{"available":"5","timeHeightLocked":"2","permanentLocked":3,"freeze":"5","nonce":"00","nonceType":1}`))
	if err != nil || b.TotalBalance != "10" || b.Balance != "5" || b.Freeze != "5" {
		t.Errorf("%+v %v", b, err)
	}
	if _, err := ShapeBalance(json.RawMessage(`{}`)); !errors.Is(err, ErrBadAnswer) {
		t.Errorf("{}: %v, want ErrBadAnswer", err)
	}
}
