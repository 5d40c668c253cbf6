package batch

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
)

// TestRead: a request, a batch, and a batch past MaxRequests, which is
// answered alone.
func TestRead(t *testing.T) {
	one := `{"jsonrpc":"2.0","method":"info","id":1}`
	for _, c := range []struct {
		name, body string
		n          int
		isBatch    bool
		code       int
	}{
		{"one", one, 1, false, 0},
		{"batch", "[" + one + "," + one + "]", 2, true, 0},
		{"largest batch", "[" + strings.Repeat(one+",", MaxRequests-1) + one + "]", MaxRequests, true, 0},
		{"batch too large", "[" + strings.Repeat(one+",", MaxRequests) + one + "]", 0, true, jsonrpc.CodeInvalidRequest},
		{"not JSON", "{", 0, false, jsonrpc.CodeParseError},
	} {
		r := httptest.NewRequest(http.MethodPost, "/jsonrpc", strings.NewReader(c.body))
		_, reqs, isBatch, perr, err := Read(r)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		switch {
		case c.code != 0 && (perr == nil || perr.Code != c.code):
			t.Errorf("%s: error %v, want code %d", c.name, perr, c.code)
		case c.code == 0 && (perr != nil || len(reqs) != c.n || isBatch != c.isBatch):
			t.Errorf("%s: %d requests, batch %v, error %v; want %d, %v", c.name, len(reqs), isBatch, perr, c.n, c.isBatch)
		}
	}
}

// TestRun: every request runs once, at most parallel at a time; a lone
// request runs on the caller's goroutine.
func TestRun(t *testing.T) {
	reqs := make([]jsonrpc.Request, 40)
	var running atomic.Int32
	var mu sync.Mutex // guards most, seen
	most := int32(0)
	seen := map[int]int{}
	Run(reqs, func(i int, _ *jsonrpc.Request) {
		n := running.Add(1)
		mu.Lock()
		most = max(most, n)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		running.Add(-1)
		mu.Lock()
		seen[i]++
		mu.Unlock()
	})
	if len(seen) != len(reqs) {
		t.Errorf("%d requests ran, want %d", len(seen), len(reqs))
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("request %d ran %d times", i, n)
		}
	}
	if most > parallel {
		t.Errorf("%d ran at once, want at most %d", most, parallel)
	}
	var ran bool
	Run(reqs[:1], func(int, *jsonrpc.Request) { ran = true }) // no goroutine: no race on ran
	if !ran {
		t.Error("a lone request did not run")
	}
}

// TestBudget: answers spend it; past it, the batch's error; a nil Budget
// bounds nothing.
func TestBudget(t *testing.T) {
	b := NewBudget(100)
	if err := b.Spend(60); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	err := b.Spend(41)
	if !errors.Is(err, ErrAnswersTooLarge) || !strings.Contains(err.Error(), fmt.Sprint(100)) {
		t.Errorf("past the budget: %v", err)
	}
	if err := b.Check(); !errors.Is(err, ErrAnswersTooLarge) {
		t.Errorf("Check once spent: %v", err)
	}
	var none *Budget
	if none.Spend(1<<30) != nil || none.Check() != nil {
		t.Error("a nil Budget bounded something")
	}
}
