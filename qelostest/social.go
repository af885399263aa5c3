package qelostest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// socialProviders are the providers Qelos routes a social sign-in for.
var socialProviders = []string{"linkedin", "facebook", "google", "github"}

// ProviderPath is where the server's stand-in identity provider answers:
// a social sign-in start (GET /api/auth/{provider}) redirects the browser
// to ProviderPath + "/{provider}/authorize", where the real server would
// send it to Google, GitHub, LinkedIn or Facebook. The stand-in signs in
// at once, as the user its "login_hint" query parameter names (default
// AdminEmail; an unknown email is registered, as Qelos auto-registers
// social users), and redirects back to the callback with a code.
const ProviderPath = "/_qelostest/provider"

// stateTTL is the lifetime of the state Qelos packs returnUrl into.
const stateTTL = 10 * time.Minute

// providerHandler serves a request of a known social provider.
type providerHandler func(w http.ResponseWriter, r *http.Request, provider string)

// withProvider serves h the {provider} of the request's path when it is
// one of socialProviders; another gets Express's 404.
func withProvider(h providerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := r.PathValue("provider")
		if !slices.Contains(socialProviders, p) {
			writeNotFound(w, r)
			return
		}
		h(w, r, p)
	}
}

// handleSocialStart serves GET /api/auth/{provider}?state&returnUrl&redirectUrl:
// a 302 to the (stand-in) provider with the callback URI and a state that
// carries returnUrl and redirectUrl (an HS256 JWT signed with the refresh
// secret, living 10 minutes, as Qelos packs it) or, without them, the
// caller's state as it is.
func (s *Server) handleSocialStart(w http.ResponseWriter, r *http.Request, p string) {
	q := r.URL.Query()
	state := q.Get("state")
	if returnURL, redirectURL := q.Get("returnUrl"), q.Get("redirectUrl"); returnURL != "" || redirectURL != "" {
		claims := object{}.addString("s", state).addString("ru", returnURL).addString("rd", redirectURL)
		now := s.now()
		claims = claims.add("iat", now.Unix()).add("exp", expClaim(now, stateTTL))
		var err error
		if state, err = sign(claims, s.opts.RefreshSecret); err != nil {
			writeMessage(w, http.StatusInternalServerError, "Internal server error")
			return
		}
	}
	callback := q.Get("redirectUrl")
	if callback == "" || !strings.HasSuffix(pathOf(callback), "/callback") {
		callback = "http://" + r.Host + "/api/auth/" + p + "/callback"
	}
	to := url.Values{"response_type": {"code"}, "client_id": {"qelostest"}, "redirect_uri": {callback}}
	if state != "" {
		to.Set("state", state)
	}
	if hint := q.Get("login_hint"); hint != "" {
		to.Set("login_hint", hint)
	}
	http.Redirect(w, r, "http://"+r.Host+ProviderPath+"/"+p+"/authorize?"+to.Encode(), http.StatusFound)
}

func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Path
}

// handleProviderAuthorize is the stand-in provider: it signs in as
// login_hint (default AdminEmail) and redirects to redirect_uri with a
// single-use code and the state.
func (s *Server) handleProviderAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("redirect_uri") == "" {
		writeMessage(w, http.StatusBadRequest, "redirect_uri is required")
		return
	}
	email := q.Get("login_hint")
	if email == "" {
		email = AdminEmail
	}
	code := rand.Text()
	s.mu.Lock()
	if s.socialCodes == nil {
		s.socialCodes = map[string]socialCode{}
	}
	for k, c := range s.socialCodes { // codes live a minute, as a provider's do
		if s.now().After(c.expires) {
			delete(s.socialCodes, k)
		}
	}
	s.socialCodes[code] = socialCode{email: email, provider: r.PathValue("provider"), expires: s.now().Add(time.Minute)}
	s.mu.Unlock()
	v := back.Query()
	v.Set("code", code)
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// socialCode is a code the stand-in provider issued.
type socialCode struct {
	email, provider string
	expires         time.Time
}

// handleSocialCallback serves GET /api/auth/{provider}/callback?code&state:
// it finds the user by email (registering a new one, role "user", as Qelos
// does by default), picks the workspace as sign-in does, and then, when
// the state carries a safe returnUrl (a path, not "//…"), redirects there
// with ?rt=<refresh token>[&state=…] for POST /api/auth/callback;
// otherwise sets a session cookie (whose identifier, as on Qelos, is not
// on record) and redirects to "/".
func (s *Server) handleSocialCallback(w http.ResponseWriter, r *http.Request, p string) {
	q := r.URL.Query()
	code := q.Get("code")
	if code == "" {
		writeMessage(w, http.StatusBadRequest, "Invalid authorization code")
		return
	}
	userState, returnURL := s.unpackState(q.Get("state"))
	t := s.requestTenant(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.socialCodes[code]
	delete(s.socialCodes, code)
	if !ok || c.provider != p || s.now().After(c.expires) {
		writeMessage(w, http.StatusBadRequest, "Failed to get access token")
		return
	}
	u := t.userByLogin(c.email)
	if u == nil {
		u = &userRecord{
			User:    User{ID: s.newObjectID(), Username: c.email, Email: c.email, Roles: []string{"user"}, Metadata: map[string]any{}},
			tenant:  t.id,
			created: s.now(),
		}
		t.users = append(t.users, u)
	}
	ws, roles := s.pickWorkspace(t, u, "")
	var wsClaim json.RawMessage
	var wsID string
	if ws != nil {
		wsClaim, wsID = workspaceClaim(ws, roles), ws.id
	}
	if returnURL != "" && strings.HasPrefix(returnURL, "/") && !strings.HasPrefix(returnURL, "//") {
		_, refresh, err := s.mintOAuth(u, wsID, claimOptions{workspace: wsClaim})
		if err != nil {
			writeMessage(w, http.StatusInternalServerError, "Internal server error")
			return
		}
		sep := "?"
		if strings.Contains(returnURL, "?") {
			sep = "&"
		}
		to := returnURL + sep + "rt=" + url.QueryEscape(refresh)
		if userState != "" {
			to += "&state=" + url.QueryEscape(userState)
		}
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	tok, err := sign(s.sessionClaims(u, claimOptions{workspace: wsClaim, identifier: s.newTokenIdentifier(), ttl: s.opts.CookieTTL}), s.opts.JWTSecret)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "Internal server error")
		return
	}
	s.setSessionCookie(w, r, tok, s.opts.CookieTTL)
	http.Redirect(w, r, "/", http.StatusFound)
}

// unpackState reads the state of a callback: Qelos's packed JWT, or the
// caller's own state when it is none (or has expired).
func (s *Server) unpackState(raw string) (userState, returnURL string) {
	if raw == "" {
		return "", ""
	}
	if _, err := s.verify(raw, s.opts.RefreshSecret); err != nil {
		return raw, ""
	}
	payload, err := parser.DecodeSegment(strings.Split(raw, ".")[1])
	if err != nil {
		return raw, ""
	}
	var st struct {
		S  string `json:"s"`
		Ru string `json:"ru"`
	}
	if json.NewDecoder(bytes.NewReader(payload)).Decode(&st) != nil {
		return raw, ""
	}
	return st.S, st.Ru
}

// handleAuthCallback serves POST /api/auth/callback?rt=<refreshToken>, the
// social-login exchange: it consumes the refresh token and starts a cookie
// session whose token lives AccessTTL (the real server signs it without an
// explicit lifetime) while the cookie's Max-Age is CookieTTL.
//
// Like the real server (controllers/auth-callback.ts passes the Mongoose
// document to tokenPayload), the payload's user is the whole stored
// document: password hash, salt and token records included (see
// storedUserDocument).
func (s *Server) handleAuthCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("rt") {
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	rt := strings.TrimSpace(q.Get("rt"))
	if rt == "" {
		writeJSON(w, http.StatusBadRequest, object{{"error", "Refresh token is missing"}})
		return
	}
	c, err := s.verify(rt, s.opts.RefreshSecret)
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, object{{"error", "Invalid refresh token"}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.tenantLocked(c.Tenant, false).userByID(c.Sub)
	if u == nil {
		writeJSON(w, http.StatusUnauthorized, object{{"errors", object{{"general", "User not found"}}}})
		return
	}
	i := tokenIndex(u, kindOAuth, c.TokenIdentifier)
	if i < 0 {
		writeJSON(w, http.StatusUnauthorized, object{{"errors", object{{"general", "Refresh token not valid"}}}})
		return
	}
	u.tokens = slices.Delete(u.tokens, i, i+1)
	var o claimOptions
	wsID := c.workspaceID()
	if wsID != "" {
		o.workspace = bareWorkspaceClaim(wsID)
	}
	tok, err := s.mintCookie(u, o, s.opts.AccessTTL)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "failed to exchange refresh token")
		return
	}
	s.setSessionCookie(w, r, tok, s.opts.CookieTTL)
	payload := object{{"user", storedUserDocument(u)}}
	if o.workspace != nil {
		payload = payload.add("workspace", o.workspace)
	}
	writeJSON(w, http.StatusOK, object{{"payload", payload}})
}
