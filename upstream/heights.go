package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

type minHeightKey struct{}

// WithMinHeight returns ctx asking that its calls be answered by a node
// whose head is at least height: an upstream of several nodes (package
// pool) routes them so, or waits briefly for one; a single node ignores it.
func WithMinHeight(ctx context.Context, height int64) context.Context {
	return context.WithValue(ctx, minHeightKey{}, height)
}

// MinHeight returns the height ctx asks its answering node to have reached;
// 0: any.
func MinHeight(ctx context.Context) int64 {
	h, _ := ctx.Value(minHeightKey{}).(int64)
	return h
}

// DefaultMaxFill is Heights.MaxFill's default: a node catching up pushes
// heights faster than their headers are derived, and the stream fills what
// it skipped.
const DefaultMaxFill = 512

// fetchesInFlight bounds the headers one fill fetches at once.
const fetchesInFlight = 8

// Heights tells the hub which streams follow the chain's height (it
// implements subscriptions.Chain): latestHeight, whose pushes are
// {"value": height}, and newHeaders, whose events are block headers with
// their "height". A renewed subscription of these (the stream moved to
// another node, the connection came back) continues by height: nothing
// twice, no height going back, and the heights it skipped fetched from the
// node instead of a gap.
type Heights struct {
	Feeds Feeds
	// MaxFill bounds the heights fetched to close one gap: beyond it the
	// stream gets a gap event. Default DefaultMaxFill.
	MaxFill int
}

var _ subscriptions.Chain = Heights{}

// errTooManyHeights refuses a fill larger than MaxFill.
var errTooManyHeights = errors.New("upstream: too many heights missed to fetch them")

// Height implements subscriptions.Chain.
func (Heights) Height(k subscriptions.Key, data json.RawMessage) (int64, bool) {
	if k.Period > 0 || k.Range != "" {
		return 0, false
	}
	var field string
	switch k.Method {
	case "latestHeight":
		field = "value"
	case "newHeaders":
		field = "height"
	default:
		return 0, false
	}
	var v map[string]json.RawMessage
	if json.Unmarshal(data, &v) != nil {
		return 0, false
	}
	h, err := strconv.ParseInt(string(v[field]), 10, 64)
	return h, err == nil && h >= 0
}

// Tipper is an upstream of several nodes (package pool): Tip is the highest
// head its nodes last answered with, 0 when none answers.
type Tipper interface {
	Tip() int64
}

// Reached implements subscriptions.Chain. One node's feed is the chain as
// far as the gateway can tell: renewed lower, that node went back. Of
// several nodes, a lower feed is a node behind while another node is at
// height.
func (hs Heights) Reached(height int64) bool {
	t, ok := hs.Feeds.Upstream.(Tipper)
	return ok && t.Tip() >= height
}

// Between implements subscriptions.Chain: latestHeight's pushes are the
// heights themselves; newHeaders' are fetched from a node that has them.
func (hs Heights) Between(ctx context.Context, k subscriptions.Key, from, to int64) ([]json.RawMessage, error) {
	limit := hs.MaxFill
	if limit <= 0 {
		limit = DefaultMaxFill
	}
	if to-from-1 > int64(limit) {
		return nil, fmt.Errorf("%w: %d, at most %d", errTooManyHeights, to-from-1, limit)
	}
	f := hs.Feeds.withDefaults()
	out := make([]json.RawMessage, to-from-1)
	if k.Method != "newHeaders" {
		for i := range out {
			out[i] = json.RawMessage(`{"value":` + strconv.FormatInt(from+1+int64(i), 10) + `}`)
		}
		return out, nil
	}
	// One call per header (a Request names each method once), a few in
	// flight: a fill of hundreds of heights takes a few round trips'
	// time per dozen, not one each.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchesInFlight)
	for i := range out {
		h := from + 1 + int64(i)
		g.Go(func() error {
			push := json.RawMessage(`{"value":` + strconv.FormatInt(h, 10) + `}`)
			cctx, cancel := context.WithTimeout(gctx, f.CallTimeout)
			defer cancel()
			header, err := newHeader(cctx, f.Upstream, json.RawMessage(k.Params), push)
			if err != nil {
				return fmt.Errorf("newHeaders at %d: %w", h, err)
			}
			out[i] = header
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
