package gateway

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/gateway/calls"
)

// The asynchronous and idempotent calls of POST /rpc are package calls'
// (a Keeper): what they need of a request is here.

// jobOf is what the Keeper needs of a call of method by p.
func (s *Server) jobOf(r *http.Request, p *auth.Principal, method string, fingerprint func() (string, error)) calls.Job {
	return calls.Job{Method: method, Owner: p.ID, Client: s.clientKey(r, p), Fingerprint: fingerprint}
}

// errorReply is the problem document of err as a call's answer, logged as
// writeError does.
func (s *Server) errorReply(r *http.Request, err error) calls.Reply {
	rec := calls.NewRecorder()
	s.writeError(rec, r, err)
	return rec.Reply()
}

// getRequest answers for an asynchronous call, on any instance.
//
//	@Summary		The answer of an asynchronous call
//	@ID				getRequest
//	@Description	A call made with the header Prefer: respond-async answers 202 with Location: /requests/{id}. This route answers 202 while the call runs, then the call's own answer (200 with the result, or its problem document), on any instance, until the result expires.
//	@Tags			rpc
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			id	path		string	true	"Call ID"
//	@Success		200	{object}	object	"The call's result"
//	@Success		202	{object}	calls.RequestStatus
//	@Failure		404	{object}	Problem
//	@Failure		503	{object}	Problem
//	@Router			/requests/{id} [get]
func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) error {
	return s.calls.Answer(w, r, chi.URLParam(r, "id"), principalOf(r).ID)
}

// stateWarning logs a failure of the shared state that a request survived,
// at most once a second so that Redis being away does not flood the log.
func (s *Server) stateWarning(what string, err error) {
	now := time.Now().Unix()
	if last := s.lastStateWarning.Load(); last == now || !s.lastStateWarning.CompareAndSwap(last, now) {
		return
	}
	s.logger.Warn("shared state unavailable; "+what+" skipped", "err", err)
}
