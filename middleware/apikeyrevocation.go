package middleware

// API-key revocation. Qelos answers for an API key from its identity cache
// for Config.Limits.IdentityTTL; a key revoked through this app (Client's
// RevokeAPIToken or Do, or the /api proxy) must stop working at once, on
// every replica. A revocation deletes a token by id, which need not be the
// key the request authenticated with, and nothing here maps ids to keys:
// so every cached API-key identity of the user is dropped, and each of the
// user's keys is asked about again on its next use.

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/upstream"
	"github.com/qelos-io/integrator-go/refresh"
)

// apiKeysOf is the revocation name of every API key of a user; "" names
// the keys of every user (a revocation whose user is unknown).
func apiKeysOf(userID string) string {
	if userID == "" {
		return "apikey-all"
	}
	return "apikey-user:" + userID
}

// revokeAPIKeysOf drops the user's cached API-key identities here, and
// through the refresh store (a refresh.Revoker such as Redis) on every
// other replica, which learn of it as soon as the store tells them. An
// empty userID drops every user's. The revocation is kept for IdentityTTL
// by the wall clock, as the refresh.Coordinator keeps time.
func (m *Middleware) revokeAPIKeysOf(ctx context.Context, userID string) {
	name := apiKeysOf(userID)
	if userID != "" {
		m.identities.forget(qelos.ModeAPIToken, userID)
	}
	// Revoke tells this replica's hook too (revokedRemotely), which also
	// covers an unknown user and sweeps again after the probes in flight.
	if err := m.refresher.Revoke(ctx, name, time.Now().Add(m.cfg.Limits.IdentityTTL)); err != nil {
		m.log.Warn("qelos API token: could not share the revocation through the refresh store; other replicas keep the key's identity until Config.Limits.IdentityTTL", "err", err)
	}
}

// revokedRemotely is the refresh.Coordinator's OnRevoke hook: a revocation
// recorded here or by another replica. Those naming a user's API keys drop
// that user's cached API-key identities.
func (m *Middleware) revokedRemotely(key string) {
	m.dropAPIKeys(key)
}

// dropAPIKeys drops the cached API-key identities the revocation key names
// (of one user, or of all). A probe that was already at Qelos when the key
// was revoked may put its answer back after this sweep, so when it dropped
// anything it sweeps again once every such probe has ended
// (UpstreamTimeout later).
func (m *Middleware) dropAPIKeys(key string) {
	if m.identities.apiKeys.len() == 0 {
		return // the common case: sign-outs come here too
	}
	if m.sweepAPIKeys(key) {
		time.AfterFunc(m.cfg.Limits.UpstreamTimeout, func() { m.sweepAPIKeys(key) })
	}
}

// sweepAPIKeys drops the API-key identities key names and reports whether
// there were any.
func (m *Middleware) sweepAPIKeys(key string) bool {
	all := key == refresh.Key(apiKeysOf(""))
	dropped := false
	m.identities.apiKeys.removeIf(func(e identityEntry) bool {
		if e.auth == nil || e.auth.User == nil || !all && m.apiKeyName(e.auth.User.ID) != key {
			return false
		}
		dropped = true
		return true
	})
	return dropped
}

// apiKeyNames remembers refresh.Key(apiKeysOf(userID)) per user: a sweep
// asks for every cached identity's. It holds at most twice CacheSize
// users, then starts again.
type apiKeyNames struct {
	m   sync.Map // user id → key
	len atomic.Int64
}

// apiKeyName is refresh.Key(apiKeysOf(userID)), remembered.
func (m *Middleware) apiKeyName(userID string) string {
	names := &m.apiKeyNames
	if k, ok := names.m.Load(userID); ok {
		return k.(string)
	}
	k := refresh.Key(apiKeysOf(userID))
	if names.len.Add(1) > int64(2*max(m.cfg.Limits.CacheSize, 1)) {
		names.m.Clear()
		names.len.Store(1)
	}
	names.m.Store(userID, k)
	return k
}

// proxiedAnswer is the /api proxy's hook: it sees each answer Qelos gave
// a proxied request before the browser does. A successful
// DELETE /api/me/api-tokens/{id} revokes the user's cached API-key
// identities (see revokeAPIKeysOf).
func (m *Middleware) proxiedAnswer(resp *http.Response) {
	req := resp.Request
	if req == nil || resp.StatusCode < 200 || resp.StatusCode > 299 || !upstream.RevokesAPIToken(req.Method, req.URL.Path) {
		return
	}
	userID := ""
	if a, ok := FromContext(req.Context()); ok && a.User != nil {
		userID = a.User.ID
	}
	m.revokeAPIKeysOf(context.WithoutCancel(req.Context()), userID)
}
