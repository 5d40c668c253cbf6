package bridge

import (
	"context"
	"encoding/json"
	"maps"
	"time"
)

// shutdownTimeout bounds the drain that the shutdown command starts.
const shutdownTimeout = 30 * time.Second

// kernelMethods are the kernel commands of the RPC-TOOL design (D17),
// answered by every module as ordinary methods. shutdown and terminate
// answer success before stopping. They are trusted-only: a stranger who
// reaches the module's endpoint must not stop it or change its
// configuration (see ModuleConfig.TrustAccepted).
func (m *Module) kernelMethods() []Method {
	return []Method{
		{
			Name: "status", Description: "Receive the Manager's module table; answers success.",
			Scope: ScopePrivate, Parameters: []Parameter{}, TrustedOnly: true,
			Handler: func(context.Context, *Call) (any, error) { return map[string]any{}, nil },
		},
		{
			Name: "shutdown", Description: "Stop after the running requests finish.", Scope: ScopeAdmin, TrustedOnly: true,
			Handler: func(_ context.Context, call *Call) (any, error) {
				call.AfterReply(func() {
					go func() {
						ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
						defer cancel()
						_ = m.Shutdown(ctx)
					}()
				})
				return map[string]any{}, nil
			},
		},
		{
			Name: "terminate", Description: "Stop now.", Scope: ScopeAdmin, TrustedOnly: true,
			Handler: func(_ context.Context, call *Call) (any, error) {
				call.AfterReply(func() { go func() { _ = m.Close() }() })
				return map[string]any{}, nil
			},
		},
		{
			Name: "confGet", Description: "The module's configuration.", Scope: ScopeAdmin, TrustedOnly: true,
			Handler: func(context.Context, *Call) (any, error) { return m.Settings(), nil },
		},
		{
			Name: "confSet", Description: "Set configuration keys (new keys allowed); answers the new configuration.", Scope: ScopeAdmin, TrustedOnly: true,
			Handler: func(_ context.Context, call *Call) (any, error) {
				var kv map[string]any
				if err := json.Unmarshal(call.Params, &kv); err != nil {
					return nil, ParamError(CodeParameterError, "Param wrong format: an object of keys and values")
				}
				delete(kv, VersionParam)
				m.mu.Lock()
				maps.Copy(m.settings, kv)
				m.mu.Unlock()
				return m.Settings(), nil
			},
		},
		{
			Name: "confReset", Description: "Restore the initial configuration; answers it.", Scope: ScopeAdmin, TrustedOnly: true,
			Handler: func(context.Context, *Call) (any, error) {
				m.mu.Lock()
				m.settings = maps.Clone(m.cfg.Settings)
				if m.settings == nil {
					m.settings = map[string]any{}
				}
				m.mu.Unlock()
				return m.Settings(), nil
			},
		},
	}
}

// Settings returns a copy of the current configuration (D17).
func (m *Module) Settings() map[string]any {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return maps.Clone(m.settings)
}
