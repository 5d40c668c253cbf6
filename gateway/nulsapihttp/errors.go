package nulsapihttp

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/rpcerrors"
	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
	"github.com/nuls-gateway/nuls-gateway/nulsapi"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// errNotInProfile is a method the nuls-api profile does not serve.
var errNotInProfile = errors.New("Can't find the method") //nolint:staticcheck // ST1005: nuls-api's message, word for word

// compatError describes err as nuls-api does.
func compatError(c Caller, method string, err error) *nulsapi.Error {
	var (
		pe     *nulsapi.ParamError
		rpcErr *bridge.RPCError
	)
	if e, ok := publicServiceCompat(err); ok {
		return e
	}
	switch {
	case errors.Is(err, errNotInProfile):
		return &nulsapi.Error{Code: nulsapi.CodeMethodNotFound, Message: errNotInProfile.Error()}
	case errors.Is(err, errNoPublicService):
		return &nulsapi.Error{Code: nulsapi.CodeMethodNotFound, Message: errNoPublicService.Error()}
	case errors.Is(err, nulsapi.ErrDataNotFound):
		return &nulsapi.Error{Code: nulsapi.CodeDataNotFound, Message: nulsapi.ErrDataNotFound.Error()}
	case errors.Is(err, nulsapi.ErrTxParse):
		return &nulsapi.Error{Code: nulsapi.CodeTxParse, Message: nulsapi.ErrTxParse.Error()}
	case errors.As(err, &pe):
		return &nulsapi.Error{Code: nulsapi.CodeParams, Message: "Parameters is wrong!", Data: pe.Detail}
	case errors.As(err, &rpcErr):
		code := rpcErr.Code
		if code == "" {
			code = strconv.Itoa(rpcErr.Status)
		}
		return &nulsapi.Error{Code: code, Message: rpcErr.Comment}
	}
	// The gateway's own refusals and failures: the JSON-RPC code, as a
	// string, with what /rpc would say.
	e, detail := c.Error(method, err)
	if e.Code == jsonrpc.CodeInvalidParams {
		return &nulsapi.Error{Code: nulsapi.CodeParams, Message: "Parameters is wrong!", Data: detail}
	}
	return &nulsapi.Error{Code: strconv.Itoa(e.Code), Message: e.Message, Data: e.Data}
}

// strictError describes err as /jsonrpc does.
func strictError(c Caller, method string, err error) *jsonrpc.Error {
	var pe *nulsapi.ParamError
	if code, msg, data, ok := publicServiceCode(err); ok {
		return &jsonrpc.Error{Code: code, Message: msg, Data: data}
	}
	switch {
	case errors.Is(err, errNotInProfile):
		return jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "Method not found")
	case errors.Is(err, errNoPublicService):
		return &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: "Method not found", Data: rpcerrors.Data{Status: http.StatusNotFound, Detail: errNoPublicService.Error()}}
	case errors.Is(err, nulsapi.ErrDataNotFound):
		return &jsonrpc.Error{Code: rpcerrors.DataNotFound, Message: "Data not found", Data: rpcerrors.Data{Status: http.StatusNotFound}}
	case errors.Is(err, nulsapi.ErrTxParse):
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Invalid params", Data: rpcerrors.Data{Status: http.StatusBadRequest, Detail: "the transaction does not parse"}}
	case errors.As(err, &pe):
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Invalid params", Data: rpcerrors.Data{Status: http.StatusBadRequest, Detail: pe.Detail}}
	}
	e, _ := c.Error(method, err)
	return e
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
		code = rpcerrors.ModuleError
	}
	return code, pe.Message, pe.Data, true
}
