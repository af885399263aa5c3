package middleware

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// revoke ends the session named by the request's cookies, as far as it
// can, and returns the user id it found: here first (its session id
// revoked, its refresh outcome forgotten), then at Qelos (its refresh
// token). Failures are logged, not returned: signing out never depends on
// Qelos.
func (m *Middleware) revoke(r *http.Request, access string) string {
	ctx := r.Context()
	now := m.now()
	// No refresh token of the session outlives this, by this app's clock
	// or by the wall clock the refresh.Coordinator keeps revocations by…
	until := now.Add(sessionLife)
	if wall := time.Now().Add(sessionLife); wall.After(until) {
		until = wall
	}
	var token, userID, accessTok string
	var accessExp time.Time
	var sids []string
	as, aerr := m.jar.open(m.jar.access, access)
	if aerr == nil {
		if t, err := m.tokens.readAccess(as.Token); err == nil {
			userID, accessTok, accessExp = t.user.ID, as.Token, t.expires
			if now.Before(t.expires) {
				token = as.Token
			}
		}
		if as.Session != "" {
			sids = append(sids, as.Session)
		}
	}
	rs, rerr := m.jar.open(m.jar.refresh, m.jar.value(r, m.jar.refresh))
	if rerr == nil {
		sid := rs.Session
		if sid == "" {
			sid = legacySessionID(rs.Token)
		}
		if !slices.Contains(sids, sid) {
			sids = append(sids, sid) // halves that disagree: both sessions end
		}
		if exp, err := m.tokens.readExpiry(rs.Token); err == nil && exp.After(until) {
			until = exp // …unless its clock says otherwise
		}
	}
	for _, sid := range sids {
		m.revokeName(ctx, "session:"+sid, until.Add(m.cfg.Refresh.Leeway))
	}
	if accessTok != "" {
		// The names earlier versions revoke and check, for replicas still
		// running one in a rolling deploy.
		if rerr == nil {
			m.revokeName(ctx, accessTok+"\x00"+rs.Token, accessExp.Add(m.cfg.Refresh.Leeway))
		}
		m.revokeName(ctx, accessTok+"\x00", accessExp.Add(m.cfg.Refresh.Leeway))
	}
	if rerr == nil {
		if token == "" {
			// Qelos revokes a refresh token through its paired access token;
			// an expired one is refused, so exchange the pair first.
			if pair, err := m.refreshWithin(ctx, rs.Token); err == nil {
				token = pair.AccessToken
				if err := m.refresher.Forget(ctx, pair.RefreshToken); err != nil {
					m.log.Warn("qelos sign-out: could not drop the session's refresh outcome from the shared store", "err", err)
				}
			}
		}
		// The old pair must no longer yield the new one.
		if err := m.refresher.Forget(ctx, rs.Token); err != nil {
			m.log.Warn("qelos sign-out: could not drop the session's refresh outcome from the shared store", "err", err)
		}
	}
	if token == "" {
		return userID
	}
	resp, err := m.call(ctx, http.MethodPost, "/api/logout", nil, token)
	if err != nil || resp.Status != http.StatusOK {
		status := 0
		if resp != nil {
			status = resp.Status
		}
		m.log.Warn("qelos sign-out: Qelos did not confirm the logout; the session is revoked here and the cookies are cleared anyway", "status", status, "err", err)
	}
	return userID
}

// revokeName records name as revoked until the given time, here and in
// the shared store.
func (m *Middleware) revokeName(ctx context.Context, name string, until time.Time) {
	if err := m.refresher.Revoke(ctx, name, until); err != nil {
		m.log.Warn("qelos sign-out: could not record the revocation in the shared store; other replicas honour it only once they see it", "err", err)
	}
}
