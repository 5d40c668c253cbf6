package bridge

import (
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"
)

// idGenerator makes MessageIDs unique per sender, in the style of Nulstar
// ("<prefix>-<n>"). The prefix mixes the start time with random digits so that
// two processes started in the same millisecond do not share IDs (several
// gateway instances keep their pending messages in one Redis).
type idGenerator struct {
	prefix string
	n      atomic.Uint64
}

func newIDGenerator() *idGenerator {
	prefix := strconv.FormatInt(time.Now().UnixMilli(), 10) + strconv.Itoa(1000+rand.IntN(9000)) //nolint:gosec // G404: unique, not secret
	return &idGenerator{prefix: prefix + "-"}
}

func (g *idGenerator) next() string {
	return g.prefix + strconv.FormatUint(g.n.Add(1), 10)
}
