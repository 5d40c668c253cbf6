package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/nulsapi"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// Derived streams are streams the gateway makes of a module subscription,
// for what clients poll today: GET /rpc/newHeaders/stream?chainId=2 is one
// upstream latestHeight subscription per topic, and at each new height the
// header fetched and decoded once (as nuls-api's BlockHeaderDto), then
// fanned out like any push; GET /rpc/accountBalance/stream is an address's
// getBalance subscription, each change answered as nuls-api's
// getAccountBalance. Who may stream one is who may stream its
// source.
type derivedStream struct {
	// source is the module method subscribed to.
	source string
	// info is what the stream declares (its parameters, events only).
	info bridge.MethodInfo
	// derive makes an event of a push of the source, with the stream's
	// parameters.
	derive func(ctx context.Context, up Upstream, params, push json.RawMessage) (json.RawMessage, error)
}

var derivedStreams = map[string]derivedStream{
	"newHeaders": {
		source: "latestHeight",
		info: bridge.MethodInfo{MethodName: "newHeaders", MethodDescription: "each new block's header, decoded as nuls-api's BlockHeaderDto",
			MethodMinEvent: "1", MethodMinPeriod: "0", MethodScope: bridge.ScopePublic,
			Parameters: []bridge.ParameterInfo{{ParameterName: "chainId", ParameterType: "int", ParameterValidRange: "[1-65535]"}}},
		derive: newHeader,
	},
	"accountBalance": {
		source: "getBalance",
		info: bridge.MethodInfo{MethodName: "accountBalance", MethodDescription: "an address's balance and nonce at each change, as nuls-api's getAccountBalance answers them",
			MethodMinEvent: "1", MethodMinPeriod: "0", MethodScope: bridge.ScopePublic,
			Parameters: []bridge.ParameterInfo{
				{ParameterName: "chainId", ParameterType: "int", ParameterValidRange: "[1-65535]"},
				{ParameterName: "assetChainId", ParameterType: "int", ParameterValidRange: "[1-65535]"},
				{ParameterName: "assetId", ParameterType: "int", ParameterValidRange: "[1-65535]"},
				{ParameterName: "address", ParameterType: "String"},
			}},
		derive: accountBalance,
	},
}

// DerivedNames returns the names of the derived streams, sorted.
func DerivedNames() []string {
	names := make([]string, 0, len(derivedStreams))
	for name := range derivedStreams {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Derived returns what a derived stream called name is made of: the module
// method it follows (its source) and what it declares (its parameters;
// events only). ok is false for any other name.
func Derived(name string) (source string, info bridge.MethodInfo, ok bool) {
	d, ok := derivedStreams[name]
	return d.source, d.info, ok
}

// accountBalance asks the ledger's getBalanceNonce, with the stream's
// parameters, at each change of the balance, and shapes it as nuls-api.
func accountBalance(ctx context.Context, up Upstream, params, _ json.RawMessage) (json.RawMessage, error) {
	reply, err := up.Call(ctx, []bridge.MethodCall{{Method: "getBalanceNonce", Params: params}})
	if err != nil {
		return nil, err
	}
	b, err := nulsapi.ShapeBalance(reply.Results[0].Result)
	if err != nil {
		return nil, err
	}
	return json.Marshal(b)
}

// newHeader fetches and decodes the header of the height a latestHeight
// push gives.
func newHeader(ctx context.Context, up Upstream, params, push json.RawMessage) (json.RawMessage, error) {
	var p struct {
		ChainID int `json:"chainId"`
	}
	var h struct {
		Value *int64 `json:"value"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(push, &h); err != nil || h.Value == nil {
		return nil, fmt.Errorf("%w: latestHeight pushed %.100s, not a height", nulsapi.ErrBadAnswer, push)
	}
	q, _ := json.Marshal(map[string]any{"chainId": p.ChainID, "height": *h.Value})
	// Of several nodes, one behind the one that pushed may not have it yet.
	ctx = WithMinHeight(ctx, *h.Value)
	reply, err := up.Call(ctx, []bridge.MethodCall{{Method: "getBlockHeaderByHeight", Params: q}})
	if err != nil {
		return nil, err
	}
	dto, err := nulsapi.HeaderFromValue(p.ChainID, "getBlockHeaderByHeight", reply.Results[0].Result)
	if err != nil {
		return nil, err
	}
	if dto == nil {
		return nil, fmt.Errorf("%w: getBlockHeaderByHeight %d answered no header", nulsapi.ErrBadAnswer, *h.Value)
	}
	return json.Marshal(dto)
}

// derivedFeed turns the updates of its source's feed into the derived
// stream's. Its goroutine ends when the source's feed ends or it is
// closed.
type derivedFeed struct {
	src     subscriptions.Feed
	d       derivedStream
	up      Upstream
	timeout time.Duration // of each call that derives an event
	render  func(method string, err error) json.RawMessage
	params  json.RawMessage
	ch      chan subscriptions.Update
	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once
	done    chan struct{}
}

// Pause implements subscriptions.Pausable for a source that can pause (a
// polled one); a pushed source's events are derived as they come.
func (f *derivedFeed) Pause(paused bool) {
	if p, ok := f.src.(subscriptions.Pausable); ok {
		p.Pause(paused)
	}
}

func newDerivedFeed(src subscriptions.Feed, d derivedStream, fs Feeds, params json.RawMessage) *derivedFeed {
	ctx, cancel := context.WithCancel(context.Background()) //nolint:gosec // G118: f.cancel, called by Close
	f := &derivedFeed{src: src, d: d, up: fs.Upstream, timeout: fs.CallTimeout, render: fs.RenderError, params: params, ch: make(chan subscriptions.Update, 16), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go f.run()
	return f
}

// run derives an event of each update of the source, the newest first:
// a reader takes the source's updates as they come, so that a burst (a node
// catching up pushes a height per block it syncs) never backs the upstream
// subscription up until it is dropped as too slow. While an event is being
// derived, a newer update replaces the one waiting, marked Gap: the hub
// fills the heights skipped (see subscriptions.Chain) or says what was
// lost.
func (f *derivedFeed) run() {
	defer close(f.done)
	defer close(f.ch)
	pending := make(chan subscriptions.Update, 1)
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer close(pending)
		for u := range f.src.Updates() {
			if !coalesce(f.ctx, pending, u) {
				return
			}
		}
	}()
	defer func() { <-read }() // the reader ends with the source (Close closes it)
	for u := range pending {
		if u.Type != subscriptions.TypeError {
			ctx, cancel := context.WithTimeout(f.ctx, f.timeout)
			data, err := f.d.derive(ctx, f.up, f.params, u.Data)
			cancel()
			if err != nil {
				if f.ctx.Err() != nil {
					return
				}
				u = subscriptions.Update{Type: subscriptions.TypeError, Data: f.render(f.d.info.MethodName, err), Gap: u.Gap}
			} else {
				u.Data = data
			}
		}
		select {
		case f.ch <- u:
		case <-f.ctx.Done():
			return
		}
	}
}

// coalesce queues u in pending, which holds one update: one still waiting
// there is replaced, and u marked Gap. It reports false when ctx ended.
func coalesce(ctx context.Context, pending chan subscriptions.Update, u subscriptions.Update) bool {
	for {
		select {
		case pending <- u:
			return true
		case <-ctx.Done():
			return false
		default:
		}
		select {
		case old := <-pending:
			if old.Final {
				// Nothing comes after a final update; keep it.
				u = old
			}
			u.Gap = true
		default: // taken meanwhile: the slot is free
		}
	}
}

func (f *derivedFeed) Updates() <-chan subscriptions.Update { return f.ch }

func (f *derivedFeed) Err() error { return f.src.Err() }

// Close ends the source's subscription and the goroutine.
func (f *derivedFeed) Close() error {
	f.once.Do(f.cancel)
	err := f.src.Close()
	<-f.done
	return err
}
