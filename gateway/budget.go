package gateway

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// defaultMaxBatchAnswerBytes is Config.MaxBatchAnswerBytes's default.
const defaultMaxBatchAnswerBytes = 16 << 20

// errBatchAnswerTooLarge refuses the requests of a batch whose answers
// together went past Config.MaxBatchAnswerBytes: the batch asked for more
// than one request may carry back, and the client should split it.
var errBatchAnswerTooLarge = errors.New("the answers of this batch are larger than one batch may carry: send fewer requests per batch")

// answerBudget bounds the bytes of the answers of one batch (JSON-RPC and
// the nuls-api profile), so that a batch of large answers cannot make the
// gateway hold without bound: each answer spends it, and once it is spent
// the batch's remaining requests are refused without being run. Safe for
// concurrent use by the batch's requests.
type answerBudget struct {
	max  int64
	left atomic.Int64
}

func newAnswerBudget(limit int64) *answerBudget {
	b := &answerBudget{max: limit}
	b.left.Store(limit)
	return b
}

// spend takes n bytes; it reports an error when the budget is exceeded.
func (b *answerBudget) spend(n int) error {
	if b == nil {
		return nil
	}
	if b.left.Add(-int64(n)) < 0 {
		return b.err()
	}
	return nil
}

// check reports an error when the budget is spent already.
func (b *answerBudget) check() error {
	if b != nil && b.left.Load() < 0 {
		return b.err()
	}
	return nil
}

func (b *answerBudget) err() error {
	return fmt.Errorf("%w (%d bytes)", errBatchAnswerTooLarge, b.max)
}
