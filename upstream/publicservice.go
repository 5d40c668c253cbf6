package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// NULS public-service is the chain's indexer, a JSON-RPC server over HTTP
// apart from the module network: the nuls-api profile passes it the
// methods only it answers (Config.PublicServiceURL of the gateway).

// maxPublicServiceAnswer bounds what is read of a public-service answer.
const maxPublicServiceAnswer = 8 << 20

// ErrPublicServiceUnavailable is public-service not answering as it
// should: not reached, an HTTP status other than 200, an answer too large
// or not JSON-RPC.
var ErrPublicServiceUnavailable = errors.New("upstream unavailable")

// PublicServiceError is public-service's own error object, passed on.
type PublicServiceError struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
	Data    any             `json:"data,omitempty"`
}

func (e *PublicServiceError) Error() string { return "public-service: " + e.Message }

// CodeString is the code as nuls-api writes one: a string.
func (e *PublicServiceError) CodeString() string {
	var s string
	if json.Unmarshal(e.Code, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(e.Code))
}

// PublicService is the client of one public-service.
type PublicService struct {
	url     string
	timeout time.Duration
	client  *http.Client
}

// NewPublicService returns the client of the public-service at url, each
// call bounded by timeout.
func NewPublicService(url string, timeout time.Duration) *PublicService {
	return &PublicService{url: url, timeout: timeout,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Call asks public-service for method with params (as the client sent
// them) and returns its result. spend, when not nil, is told of each chunk
// of the answer as it is read: its error stops the read and is returned as
// it is (a batch's answers past their bound).
func (ps *PublicService) Call(ctx context.Context, method string, params json.RawMessage, spend func(n int) error) (json.RawMessage, error) {
	if len(params) == 0 {
		params = json.RawMessage("[]")
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, ps.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ps.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	resp, err := ps.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: public-service: %v", ErrPublicServiceUnavailable, err)
	}
	defer func() { _ = resp.Body.Close() }()
	r := &spendingReader{r: io.LimitReader(resp.Body, maxPublicServiceAnswer+1), spend: spend}
	b, err := io.ReadAll(r)
	if r.err != nil {
		return nil, r.err
	}
	if err != nil || len(b) > maxPublicServiceAnswer || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: public-service answered %s (%d bytes, %v)", ErrPublicServiceUnavailable, resp.Status, len(b), err)
	}
	var answer struct {
		Result json.RawMessage     `json:"result"`
		Error  *PublicServiceError `json:"error"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return nil, fmt.Errorf("%w: public-service answered no JSON-RPC response: %v", ErrPublicServiceUnavailable, err)
	}
	if answer.Error != nil {
		return nil, answer.Error
	}
	return answer.Result, nil
}

// spendingReader is r whose reads are spent as they go; err is spend's.
type spendingReader struct {
	r     io.Reader
	spend func(int) error
	err   error
}

func (sr *spendingReader) Read(p []byte) (int, error) {
	n, err := sr.r.Read(p)
	if sr.spend != nil {
		if serr := sr.spend(n); serr != nil {
			sr.err = serr
			return n, serr
		}
	}
	return n, err
}
