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

// TestMethodTable: the table holds every method of every list, each once
// and callable; a name defined twice is refused when the table is built.
func TestMethodTable(t *testing.T) {
	lists := [][]*Method{profileMethods(), blockMethods(), txMethods(), broadcastMethods()}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	all := Methods()
	if len(all) != n || len(methods) != n {
		t.Fatalf("%d methods in the table (%d listed), want the %d defined", len(methods), len(all), n)
	}
	for _, m := range all {
		if got, ok := Lookup(m.Name); !ok || got != m || m.run == nil {
			t.Errorf("%s: Lookup %v %v, run set: %v", m.Name, got, ok, m.run != nil)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("a method defined twice: no panic")
		}
	}()
	methodTable(profileMethods(), profileMethods()[:1])
}
