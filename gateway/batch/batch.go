package batch

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
)

// MaxRequests is the most requests a batch may hold.
const MaxRequests = 100

// parallel bounds the requests of one batch running at once.
const parallel = 8

// ErrAnswersTooLarge refuses the requests of a batch whose answers
// together went past its Budget: the batch asked for more than one request
// may carry back, and the client should split it. Its text is the
// client's, word for word: no package prefix.
var ErrAnswersTooLarge = errors.New("the answers of this batch are larger than one batch may carry: send fewer requests per batch")

// Read reads a JSON-RPC body: its requests, or perr, the error to answer
// alone (not JSON, not a request, a batch beyond MaxRequests). err is a
// body that could not be read (edge.ReadBody), the HTTP answer's.
func Read(r *http.Request) (body []byte, reqs []jsonrpc.Request, isBatch bool, perr *jsonrpc.Error, err error) {
	body, err = edge.ReadBody(r)
	if err != nil {
		return nil, nil, false, nil, err
	}
	reqs, isBatch, perr = jsonrpc.Parse(body)
	if perr == nil && len(reqs) > MaxRequests {
		perr = jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "Invalid Request: a batch of %d requests; at most %d", len(reqs), MaxRequests)
	}
	return body, reqs, isBatch, perr, nil
}

// Run runs do for each request of a body, a few at a time (a lone request
// on the caller's goroutine), and returns when all are done.
func Run(reqs []jsonrpc.Request, do func(i int, q *jsonrpc.Request)) {
	if len(reqs) == 1 {
		do(0, &reqs[0])
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i := range reqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			do(i, &reqs[i])
		}()
	}
	wg.Wait()
}

// Budget bounds the bytes of the answers of one batch. A nil *Budget bounds
// nothing: a lone request has no bound but the upstream's frame limit.
type Budget struct {
	max  int64
	left atomic.Int64
}

// NewBudget returns a Budget of limit bytes.
func NewBudget(limit int64) *Budget {
	b := &Budget{max: limit}
	b.left.Store(limit)
	return b
}

// Spend takes n bytes; it reports an error when the budget is exceeded.
func (b *Budget) Spend(n int) error {
	if b == nil {
		return nil
	}
	if b.left.Add(-int64(n)) < 0 {
		return b.err()
	}
	return nil
}

// Check reports an error when the budget is spent already.
func (b *Budget) Check() error {
	if b != nil && b.left.Load() < 0 {
		return b.err()
	}
	return nil
}

func (b *Budget) err() error {
	return fmt.Errorf("%w (%d bytes)", ErrAnswersTooLarge, b.max)
}
