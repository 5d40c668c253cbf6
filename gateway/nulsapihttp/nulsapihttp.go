package nulsapihttp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/nuls-gateway/nuls-gateway/gateway/batch"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/gateway/rpcerrors"
	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
	"github.com/nuls-gateway/nuls-gateway/nulsapi"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// Backend is what the profile asks of the gateway. Implementations are
// safe for concurrent use.
type Backend interface {
	// Open is the gateway's side of the body r carries, for its
	// caller: every request of the body runs through it. w takes the
	// rate limit headers.
	Open(w http.ResponseWriter, r *http.Request) Caller
	// WriteJSONRPC answers resps as POST /jsonrpc does (strict=true).
	WriteJSONRPC(w http.ResponseWriter, resps []jsonrpc.Response, isBatch bool)
}

// Caller is the gateway's side of one body, for its caller. It is safe for
// concurrent use by the body's requests.
type Caller interface {
	// Cost is what a call of method costs (its weight).
	Cost(method string) int
	// Admit spends cost units of the caller's quota and sets the rate
	// limit headers; beyond the quota, the error to answer.
	Admit(cost int) error
	// Spend spends cost more units of the caller's quota, for work a
	// request asks as it goes, without answering; beyond the quota, the
	// error to report.
	Spend(cost int) error
	// Grant checks that the caller may read method, a public read: it
	// needs the public scope and, with a method allow-list, method in
	// it.
	Grant(method string) error
	// Call calls the module command with params (a JSON object) for the
	// caller, as /rpc does. filtered: the profile passes on only an
	// allow-list of the answer (nulsapi.Method.Filtered), so the caller
	// needs what Grant checks, and the gateway reads the command for
	// itself, in whatever scope the policy puts it.
	Call(ctx context.Context, command string, params json.RawMessage, filtered bool) (json.RawMessage, error)
	// Release refuses an answer of method the caller may not read (one
	// that carries a secret); nil when it may.
	Release(method string, answer []byte) error
	// Error describes err, met by a request of method, as POST /jsonrpc
	// does, with the detail /rpc's problem document gives.
	Error(method string, err error) (e *jsonrpc.Error, detail string)
}

// Config is what the profile needs of the gateway.
type Config struct {
	// Backend is the gateway's side of each body. Required.
	Backend Backend
	// ChainID is the chain the profile's methods that take no chainId
	// serve (getNetworkInfo), as nuls-api reads it from its
	// configuration. 0: they need one given.
	ChainID int
	// PublicService is the NULS public-service to which the read methods
	// only public-service answers are forwarded. Nil: they are refused,
	// saying so.
	PublicService *upstream.PublicService
	// MaxAnswerBytes bounds the answers of one batch, together
	// (batch.Budget). Required.
	MaxAnswerBytes int64
	// RetryAfter is the Retry-After, in seconds, of an answer saying the
	// upstream is unavailable: that of /rpc's 503.
	RetryAfter int
}

// Endpoint serves the nuls-api profile.
type Endpoint struct {
	cfg        Config
	retryAfter string
	logger     *slog.Logger
}

// New returns an Endpoint as cfg says; logger nil logs nothing.
func New(cfg Config, logger *slog.Logger) *Endpoint {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Endpoint{cfg: cfg, retryAfter: strconv.Itoa(cfg.RetryAfter), logger: logger}
}

// Serve answers a nuls-api JSON-RPC body. It returns an error only when it
// has written nothing (the body could not be read, the rate limit), for
// the gateway to answer.
func (e *Endpoint) Serve(w http.ResponseWriter, r *http.Request) error {
	strict := r.URL.Query().Get("strict") == "true" || r.URL.Query().Get("strict") == "1"
	body, reqs, isBatch, perr, err := batch.Read(r)
	if err != nil {
		return err
	}
	if perr != nil {
		if strict {
			e.cfg.Backend.WriteJSONRPC(w, []jsonrpc.Response{{Error: perr}}, false)
			return nil
		}
		if perr.Code == jsonrpc.CodeInvalidRequest && len(body) > 0 && body[0] == '[' {
			edge.WriteRaw(w, http.StatusOK, []byte("[]")) // nuls-api answers an empty batch with one
			return nil
		}
		e.writeCompat(w, []nulsapi.Outcome{{ID: json.RawMessage(`"0"`), Error: &nulsapi.Error{Code: strconv.Itoa(perr.Code), Message: perr.Message}}}, false)
		return nil
	}
	c := e.cfg.Backend.Open(w, r)
	// Each request costs what it makes the gateway do: its commands'
	// weights, a forwarded method's weight, 1 for the others.
	cost := 0
	for _, q := range reqs {
		switch m, ok := nulsapi.Lookup(q.Method); {
		case q.Err != nil:
		case ok:
			for _, cmd := range m.Commands {
				cost += c.Cost(cmd)
			}
		default:
			cost += c.Cost(q.Method)
		}
	}
	if err := c.Admit(max(cost, 1)); err != nil {
		return err
	}
	var budget *batch.Budget
	if len(reqs) > 1 {
		budget = batch.NewBudget(e.cfg.MaxAnswerBytes)
	}
	type outcome struct {
		result any
		err    error
	}
	outcomes := make([]outcome, len(reqs))
	batch.Run(reqs, func(i int, q *jsonrpc.Request) {
		if q.Err == nil {
			outcomes[i].result, outcomes[i].err = e.call(r.Context(), c, q, budget)
		}
	})
	if strict {
		var resps []jsonrpc.Response
		for i, q := range reqs {
			resp := jsonrpc.Response{ID: q.ID, Error: q.Err}
			if q.Err == nil {
				if err := outcomes[i].err; err != nil {
					resp.Error = strictError(c, q.Method, err)
				} else if resp.Result, err = json.Marshal(outcomes[i].result); err != nil {
					resp.Error = jsonrpc.Errorf(jsonrpc.CodeInternalError, "Internal error")
				}
			}
			if !q.Notification() {
				resps = append(resps, resp)
			}
		}
		e.cfg.Backend.WriteJSONRPC(w, resps, isBatch)
		return nil
	}
	answers := make([]nulsapi.Outcome, len(reqs))
	for i, q := range reqs {
		answers[i] = nulsapi.Outcome{ID: q.ID, Result: outcomes[i].result}
		switch {
		case q.Err != nil:
			answers[i].Error = &nulsapi.Error{Code: nulsapi.CodeInvalidRequest, Message: q.Err.Message}
		case outcomes[i].err != nil:
			answers[i].Error = compatError(c, q.Method, outcomes[i].err)
		}
	}
	e.writeCompat(w, answers, isBatch)
	return nil
}

// call runs one request of the profile for the caller.
func (e *Endpoint) call(ctx context.Context, c Caller, q *jsonrpc.Request, budget *batch.Budget) (any, error) {
	if err := budget.Check(); err != nil {
		return nil, err
	}
	m, ok := nulsapi.Lookup(q.Method)
	if !ok {
		if nulsapi.ForwardsToPublicService(q.Method) {
			// public-service's methods are public reads (and a client's
			// signed cross-chain transfer), under the caller's own
			// rules: its method allow-list, --anonymous-methods.
			if err := c.Grant(q.Method); err != nil {
				return nil, err
			}
			return e.forward(ctx, c, q.Method, q.Params, budget)
		}
		return nil, errNotInProfile
	}
	args := map[string]json.RawMessage{}
	if len(q.Params) > 0 {
		var err error
		if q.ByName() {
			err = json.Unmarshal(q.Params, &args)
		} else {
			var values []json.RawMessage
			if err = json.Unmarshal(q.Params, &values); err == nil {
				args, err = m.ByPosition(values)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	calls := 0
	return m.Run(ctx, commands{c: c, chainID: e.cfg.ChainID, m: m, budget: budget, calls: &calls}, args)
}

// commands is the profile's way to the module commands: the caller's own
// access and quota, the gateway's upstream. The request's cost paid its
// first call; each further one (getBalanceList calls once per asset)
// spends the command's weight.
type commands struct {
	c       Caller
	chainID int
	m       *nulsapi.Method
	budget  *batch.Budget
	calls   *int
}

var _ nulsapi.Caller = commands{}

func (c commands) ChainID() int { return c.chainID }

func (c commands) Call(ctx context.Context, command string, params map[string]any) (json.RawMessage, error) {
	if *c.calls++; *c.calls > 1 {
		if err := c.c.Spend(c.c.Cost(command)); err != nil {
			return nil, err
		}
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	result, err := c.c.Call(ctx, command, raw, c.m.Filtered)
	if err == nil {
		err = c.budget.Spend(len(result))
	}
	return result, err
}

// errNoPublicService refuses a method only public-service answers when
// none is configured.
var errNoPublicService = errors.New("only NULS public-service answers this method, and this gateway has none configured (--public-service-url)")

// forward asks the configured public-service for method with params (as
// the client sent them) and returns its result, which the caller must be
// let read; the answer spends budget as it is read.
func (e *Endpoint) forward(ctx context.Context, c Caller, method string, params json.RawMessage, budget *batch.Budget) (json.RawMessage, error) {
	if e.cfg.PublicService == nil {
		return nil, errNoPublicService
	}
	var spend func(int) error
	if budget != nil {
		spend = budget.Spend
	}
	result, err := e.cfg.PublicService.Call(ctx, method, params, spend)
	if err != nil {
		return nil, err
	}
	if err := c.Release(method, result); err != nil {
		return nil, err
	}
	return result, nil
}

// writeCompat writes nuls-api's answers, at HTTP 200.
func (e *Endpoint) writeCompat(w http.ResponseWriter, answers []nulsapi.Outcome, isBatch bool) {
	b, err := nulsapi.EncodeCompat(answers, isBatch)
	if err != nil {
		e.logger.Error("nuls-api answer not encoded", "err", err)
		b = []byte(`{"jsonrpc":"2.0","id":"0","error":{"code":"10002","message":"System unknown error!"}}`)
	}
	for _, a := range answers {
		if a.Error != nil && a.Error.Code == strconv.Itoa(rpcerrors.UpstreamUnavailable) {
			// As /rpc's 503: the client may retry, and when.
			w.Header().Set("Retry-After", e.retryAfter)
			break
		}
	}
	edge.WriteRaw(w, http.StatusOK, b)
}
