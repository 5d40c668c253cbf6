package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/nulsapi"
)

// maxPublicServiceAnswer bounds what is read of a public-service answer.
const maxPublicServiceAnswer = 8 << 20

// errUpstreamUnavailable is an upstream other than the module network
// (public-service) not answering as it should.
var errUpstreamUnavailable = errors.New("upstream unavailable")

// errNoPublicService refuses a method only public-service answers when
// none is configured.
var errNoPublicService = errors.New("only NULS public-service answers this method, and this gateway has none configured (--public-service-url)")

// publicServiceError is public-service's own error object, passed on.
type publicServiceError struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
	Data    any             `json:"data,omitempty"`
}

func (e *publicServiceError) Error() string { return "public-service: " + e.Message }

// codeString is the code as nuls-api writes one: a string.
func (e *publicServiceError) codeString() string {
	var s string
	if json.Unmarshal(e.Code, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(e.Code))
}

// forwardPublicService asks the configured public-service for method with
// params (as the client sent them) and returns its result.
func (s *Server) forwardPublicService(ctx context.Context, p *auth.Principal, method string, params json.RawMessage, budget *answerBudget) (json.RawMessage, error) {
	if s.cfg.PublicServiceURL == "" {
		return nil, errNoPublicService
	}
	if len(params) == 0 {
		params = json.RawMessage("[]")
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.PublicServiceURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	resp, err := s.publicService.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: public-service: %v", errUpstreamUnavailable, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(budget.reader(io.LimitReader(resp.Body, maxPublicServiceAnswer+1)))
	if errors.Is(err, errBatchAnswerTooLarge) {
		return nil, err
	}
	if err != nil || len(b) > maxPublicServiceAnswer || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: public-service answered %s (%d bytes, %v)", errUpstreamUnavailable, resp.Status, len(b), err)
	}
	var answer struct {
		Result json.RawMessage     `json:"result"`
		Error  *publicServiceError `json:"error"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return nil, fmt.Errorf("%w: public-service answered no JSON-RPC response: %v", errUpstreamUnavailable, err)
	}
	if answer.Error != nil {
		return nil, answer.Error
	}
	if err := s.release(p, method, answer.Result); err != nil {
		return nil, err
	}
	return answer.Result, nil
}

// publicServiceCompat describes public-service's own error for nuls-api's
// clients, as public-service wrote it.
func publicServiceCompat(err error) (*nulsapi.Error, bool) {
	var pe *publicServiceError
	if !errors.As(err, &pe) {
		return nil, false
	}
	return &nulsapi.Error{Code: pe.codeString(), Message: pe.Message, Data: pe.Data}, true
}

// publicServiceCode is its error's code as a JSON-RPC integer, when it is
// one.
func publicServiceCode(err error) (int, string, any, bool) {
	var pe *publicServiceError
	if !errors.As(err, &pe) {
		return 0, "", nil, false
	}
	code, cerr := strconv.Atoi(pe.codeString())
	if cerr != nil {
		code = codeModuleError
	}
	return code, pe.Message, pe.Data, true
}
