package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/gateway/batch"
	"github.com/nuls-gateway/nuls-gateway/nulsapi"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// errNoPublicService refuses a method only public-service answers when
// none is configured.
var errNoPublicService = errors.New("only NULS public-service answers this method, and this gateway has none configured (--public-service-url)")

// forwardPublicService asks the configured public-service for method with
// params (as the client sent them) and returns its result, which p must be
// let read; the answer spends budget as it is read.
func (s *Server) forwardPublicService(ctx context.Context, p *auth.Principal, method string, params json.RawMessage, budget *batch.Budget) (json.RawMessage, error) {
	if s.publicService == nil {
		return nil, errNoPublicService
	}
	var spend func(int) error
	if budget != nil {
		spend = budget.Spend
	}
	result, err := s.publicService.Call(ctx, method, params, spend)
	if err != nil {
		return nil, err
	}
	if err := s.release(p, method, result); err != nil {
		return nil, err
	}
	return result, nil
}

// publicServiceCompat describes public-service's own error for nuls-api's
// clients, as public-service wrote it.
func publicServiceCompat(err error) (*nulsapi.Error, bool) {
	var pe *upstream.PublicServiceError
	if !errors.As(err, &pe) {
		return nil, false
	}
	return &nulsapi.Error{Code: pe.CodeString(), Message: pe.Message, Data: pe.Data}, true
}

// publicServiceCode is its error's code as a JSON-RPC integer, when it is
// one.
func publicServiceCode(err error) (int, string, any, bool) {
	var pe *upstream.PublicServiceError
	if !errors.As(err, &pe) {
		return 0, "", nil, false
	}
	code, cerr := strconv.Atoi(pe.CodeString())
	if cerr != nil {
		code = codeModuleError
	}
	return code, pe.Message, pe.Data, true
}
