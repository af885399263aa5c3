package middleware_test

// Threats against the proxy, the cache headers, scoped API keys, claims,
// sign-up and the social sign-in, each attack replayed against an app with
// the default configuration.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
)

// attackerCookie is Qelos's own session cookie of the demo user (the
// attacker's account), as a sibling subdomain would plant it.
func attackerCookie(t *testing.T, q *qelostest.Server) *http.Cookie {
	t.Helper()
	tok, err := q.IssueCookie(qelostest.UserEmail, "")
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: q.CookieName(), Value: tok}
}

// TestThreatCookieTossingUnprefixed: a qlt_0 cookie planted in a visitor's
// browser (it has no __Host- prefix, so a sibling subdomain can set it)
// neither signs the visitor in as the attacker nor reaches Qelos through
// the proxy, under the default configuration.
func TestThreatCookieTossingUnprefixed(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	planted := attackerCookie(t, up.q)
	token := &http.Cookie{Name: "token", Value: planted.Value}
	for _, c := range []*http.Cookie{planted, token} {
		t.Run(c.Name, func(t *testing.T) {
			before := len(up.requests("/api/me"))
			if w := a.get("/whoami", c).whoami(t); w.User != nil {
				t.Fatalf("a planted %s cookie signed the visitor in as %s", c.Name, w.User.Email)
			}
			if r := a.get("/private", c); r.status != http.StatusUnauthorized {
				t.Fatalf("/private: %d %s", r.status, r.body)
			}
			if n := len(up.requests("/api/me")) - before; n != 0 {
				t.Fatalf("the planted cookie cost %d /api/me probes", n)
			}
			r := a.get("/api/echo", c, &http.Cookie{Name: "theme", Value: "dark"})
			echoed := up.requests("/api/echo")
			if r.status != 200 || len(echoed) == 0 {
				t.Fatalf("proxy: %d %s", r.status, r.body)
			}
			if got := echoed[len(echoed)-1].header.Get("Cookie"); got != "theme=dark" {
				t.Fatalf("the proxy forwarded Cookie %q, want only theme=dark", got)
			}
		})
	}
}

// TestThreatProxyForwardsPlantedCredential: with the victim's pair and
// credentials planted beside it (Qelos's cookie, its "token" fallback, in
// any spelling), the proxy sends Qelos the pair's bearer and nothing the
// browser sent: Qelos prefers a cookie to a bearer, so a planted qlt_0
// would otherwise make POST /api/me/api-tokens create the token in the
// attacker's account.
func TestThreatProxyForwardsPlantedCredential(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	victim := a.pair(qelostest.AdminEmail, acmeID, false)
	planted := attackerCookie(t, up.q)
	access, _ := a.tokens(map[string]*http.Cookie{accessCookie: victim[0], refreshCookie: victim[1]})

	req, _ := http.NewRequest(http.MethodPost, a.app.URL+"/api/me/api-tokens", strings.NewReader(`{"nickname":"stolen","expiresAt":"`+time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339)+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("Cookie", victim[0].Name+"="+victim[0].Value+"; "+victim[1].Name+"="+victim[1].Value)
	req.Header.Add("Cookie", planted.Name+"="+planted.Value+"; token="+planted.Value+"; QLT_0="+planted.Value+"; theme=dark")
	r := a.send(req)
	if r.status != http.StatusCreated {
		t.Fatalf("create token: %d %s", r.status, r.body)
	}
	sent := up.requests("/api/me/api-tokens")[0]
	if got := sent.header.Values("Cookie"); len(got) != 0 {
		t.Fatalf("the proxy forwarded Cookie %q beside the pair's bearer", got)
	}
	if got := sent.header.Get("Authorization"); got != "Bearer "+access {
		t.Fatalf("Authorization %.40q…, want the pair's bearer", got)
	}
	var created struct {
		APIToken struct {
			User string `json:"user"`
		} `json:"apiToken"`
	}
	json.Unmarshal(r.body, &created)
	admin, _, _ := up.q.IssuePair(qelostest.AdminEmail, "") // the admin's id, from a token of theirs
	if sub := subject(t, admin); created.APIToken.User != sub {
		t.Fatalf("the token was created for user %q, want the victim %q", created.APIToken.User, sub)
	}
}

// subject returns a JWT's sub claim.
func subject(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Sub string `json:"sub"`
	}
	json.Unmarshal(b, &c)
	return c.Sub
}

// TestProxyCredentialsByConfig: what the proxy forwards of the browser's
// credentials, with and without the pair and Config.Proxy.Passthrough.
func TestProxyCredentialsByConfig(t *testing.T) {
	tests := []struct {
		name          string
		passthrough   bool
		pair          bool
		apiKey        bool
		wantCookie    string
		wantAuthz     string // "pair": the pair's bearer
		wantAPIKeyOut bool
	}{
		{name: "pair: nothing of the browser's", pair: true, apiKey: false, wantAuthz: "pair"},
		{name: "pair with passthrough on: nothing of the browser's", passthrough: true, pair: true, wantAuthz: "pair"},
		{name: "no pair, passthrough off: Qelos's cookies dropped", wantCookie: "theme=dark", wantAuthz: "Bearer client-owned"},
		{name: "no pair, passthrough on: Qelos's cookie forwarded", passthrough: true, wantCookie: "qlt_0=PLANTED; theme=dark", wantAuthz: "Bearer client-owned"},
		{name: "API key: forwarded as the credential", apiKey: true, wantCookie: "theme=dark", wantAuthz: "Bearer client-owned", wantAPIKeyOut: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, qelostest.Options{})
			a := newApp(t, up, func(c *middleware.Config) { c.Proxy.Passthrough = tt.passthrough })
			req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/api/echo", nil)
			req.Header.Set("Cookie", "qlt_0=PLANTED; theme=dark")
			req.Header.Set("Authorization", "Bearer client-owned")
			var access string
			if tt.pair {
				p := a.pair(qelostest.AdminEmail, acmeID, false)
				access, _ = a.tokens(map[string]*http.Cookie{accessCookie: p[0], refreshCookie: p[1]})
				req.Header.Add("Cookie", p[0].Name+"="+p[0].Value+"; "+p[1].Name+"="+p[1].Value)
			}
			if tt.apiKey {
				req.Header.Set("X-Api-Key", "ql_"+strings.Repeat("0", 64))
			}
			a.send(req)
			seen := up.requests("/api/echo")
			if len(seen) != 1 {
				t.Fatalf("%d upstream requests", len(seen))
			}
			h := seen[0].header
			want := tt.wantAuthz
			if want == "pair" {
				want = "Bearer " + access
			}
			if got := strings.Join(h.Values("Cookie"), "|"); got != tt.wantCookie {
				t.Errorf("Cookie %q, want %q", got, tt.wantCookie)
			}
			if got := h.Get("Authorization"); got != want {
				t.Errorf("Authorization %.30q, want %.30q", got, want)
			}
			if got := h.Get("X-Api-Key") != ""; got != tt.wantAPIKeyOut {
				t.Errorf("x-api-key forwarded: %v", got)
			}
		})
	}
}

// TestThreatSharedCacheSetCookie: every answer that sets or clears a
// cookie says Cache-Control: private, no-store and Vary: Cookie when it
// reaches the wire, whatever a handler or Qelos said, so a shared cache
// neither serves one visitor's session to another nor a sign-out to
// everybody.
func TestThreatSharedCacheSetCookie(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	up.override("/api/cached", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Add("Set-Cookie", "qlt_0=rotated; Domain=qelos.internal; Path=/api; HttpOnly")
		w.Write([]byte(`{}`))
	})
	a := newApp(t, up, nil)
	// An app page a handler marks cacheable, mounted like the others.
	mux := appMux(a.mw)
	mux.Handle("/api/", a.mw.Proxy())
	mux.Handle("GET /auth/google", a.mw.SocialLoginHandler("google", "/auth/callback"))
	mux.HandleFunc("GET /cached", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Cdn-Cache-Control", "max-age=300")
		w.Header().Set("Vary", "Accept-Encoding")
		w.Write([]byte("page"))
	})
	mux.HandleFunc("GET /cached-silent", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300") // and nothing written
	})
	mux.HandleFunc("GET /cached-flush", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		http.NewResponseController(w).Flush()
	})
	a.app = newTestServer(t, a.mw.Handler(mux))

	forged := []*http.Cookie{{Name: accessCookie, Value: "garbage"}, {Name: refreshCookie, Value: "garbage"}}
	tests := []struct {
		name   string
		req    func() reply
		cookie string // a cookie the answer must set or clear
	}{
		{"a refreshed pair on a page the handler marks public", func() reply {
			return a.get("/cached", a.pair(qelostest.AdminEmail, acmeID, true)...)
		}, accessCookie},
		{"a refreshed pair on a flushed answer", func() reply {
			return a.get("/cached-flush", a.pair(qelostest.AdminEmail, acmeID, true)...)
		}, accessCookie},
		{"a refreshed pair on a handler that writes nothing", func() reply {
			return a.get("/cached-silent", a.pair(qelostest.AdminEmail, acmeID, true)...)
		}, accessCookie},
		{"a garbage cookie cleared on a page the handler marks public", func() reply { return a.get("/cached", forged...) }, accessCookie},
		{"Qelos's own Set-Cookie relayed by the proxy", func() reply { return a.get("/api/cached") }, "qlt_0"},
		{"the social state cookie", func() reply { return a.get("/auth/google") }, middleware.HostPrefix + "q_social_state"},
		{"sign-out clearing the pair", func() reply {
			return a.do(http.MethodPost, "/auth/signout", nil, "", a.pair(qelostest.AdminEmail, acmeID, false)...)
		}, accessCookie},
		{"sign-in setting the pair", func() reply {
			return a.do(http.MethodPost, "/auth/signin", strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`"}`), "application/json")
		}, accessCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req()
			if _, ok := r.cookies[tt.cookie]; !ok {
				t.Fatalf("%d: the answer did not set %s (%v)", r.status, tt.cookie, r.header.Values("Set-Cookie"))
			}
			if got := r.header.Values("Cache-Control"); len(got) != 1 || got[0] != "private, no-store" {
				t.Errorf("Cache-Control %q, want exactly \"private, no-store\"", got)
			}
			if r.header.Get("Cdn-Cache-Control") != "" {
				t.Errorf("CDN-Cache-Control %q survived", r.header.Get("Cdn-Cache-Control"))
			}
			if !slices.ContainsFunc(r.header.Values("Vary"), func(v string) bool { return strings.Contains(v, "Cookie") }) {
				t.Errorf("Vary %q does not name Cookie", r.header.Values("Vary"))
			}
		})
	}
	t.Run("a warm request is left as the handler said", func(t *testing.T) {
		cookies := a.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
		r := a.get("/cached", cookies...)
		if r.header.Get("Set-Cookie") != "" || r.header.Get("Cache-Control") != "public, max-age=300" {
			t.Fatalf("Set-Cookie %q Cache-Control %q", r.header.Get("Set-Cookie"), r.header.Get("Cache-Control"))
		}
	})
}

// TestThreatScopedKeyWorkspaceSwitch: an API key created for Acme stays in
// Acme whatever Config.ResolveWorkspace or SelectWorkspace choose: a
// resolver written for sessions (pick the workspace the request names
// among the user's memberships) cannot move it to Beta Lab.
func TestThreatScopedKeyWorkspaceSwitch(t *testing.T) {
	byHeader := func(r *http.Request, u *middleware.User, c *qelosapi.Client) (*middleware.Workspace, error) {
		list, err := c.Workspaces(r.Context())
		if err != nil {
			return nil, err
		}
		for i := range list {
			if list[i].ID == r.Header.Get("X-Workspace") {
				return &list[i], nil
			}
		}
		return nil, nil
	}
	h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.ResolveWorkspace = byHeader })
	mux := appMux(h.mw)
	inner := http.NewServeMux()
	inner.Handle("GET /w/whoami", http.StripPrefix("/w", appMux(h.mw)))
	mux.Handle("GET /w/whoami", middleware.SelectWorkspace(byHeader)(inner))
	h.app = newTestServer(t, h.mw.Handler(mux))
	scoped, err := h.qelos.IssueAPIToken(qelostest.AdminEmail, acmeID, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	unscoped, err := h.qelos.IssueAPIToken(qelostest.AdminEmail, "", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, path, ask string
		want                 string // workspace id, "" for none
	}{
		{"scoped key asking for Beta through ResolveWorkspace", scoped, "/whoami", qelostest.BetaWorkspaceID, ""},
		{"scoped key asking for Beta through SelectWorkspace", scoped, "/w/whoami", qelostest.BetaWorkspaceID, ""},
		{"scoped key asking for its own workspace", scoped, "/whoami", acmeID, acmeID},
		{"unscoped key may be given Beta", unscoped, "/whoami", qelostest.BetaWorkspaceID, qelostest.BetaWorkspaceID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.app.URL+tt.path, nil)
			req.Header.Set("X-Api-Key", tt.key)
			req.Header.Set("X-Workspace", tt.ask)
			w := h.send(req).whoami(t)
			if w.User == nil {
				t.Fatal("the key was not identified")
			}
			got := ""
			if w.Workspace != nil {
				got = w.Workspace.ID
			}
			if got != tt.want {
				t.Fatalf("workspace %q, want %q", got, tt.want)
			}
		})
	}
}

// TestThreatPasswordHashThroughProxy: Qelos's social exchange (POST
// /api/auth/callback) answers with the whole stored user document; through
// the proxy it reaches the browser without the password hash, the salt
// and the token records (a live access token among them), whatever the
// path's spelling, and the rest of the document is kept.
func TestThreatPasswordHashThroughProxy(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	for _, path := range []string{"/api/auth/callback", "/api/auth/callback/", "/api/Auth/%63allback"} {
		t.Run(path, func(t *testing.T) {
			_, rt, err := up.q.IssuePair(qelostest.AdminEmail, acmeID)
			if err != nil {
				t.Fatal(err)
			}
			before := up.count()
			r := a.do(http.MethodPost, path+"?rt="+url.QueryEscape(rt), nil, "")
			if up.count() == before {
				t.Fatal("nothing reached Qelos")
			}
			body := string(r.body)
			for _, secret := range []string{`"password"`, `"salt"`, `"tokens"`, "$2a$", `"relatedToken"`} {
				if strings.Contains(body, secret) {
					t.Fatalf("%d: the answer holds %s: %s", r.status, secret, body)
				}
			}
			if r.status == http.StatusOK && (!strings.Contains(body, `"email":"`+qelostest.AdminEmail+`"`) || !strings.Contains(body, `"workspace":{"_id":"`+acmeID)) {
				t.Fatalf("the rest of the document was lost: %s", body)
			}
			if r.status == http.StatusOK && r.header.Get("Content-Length") != fmt.Sprint(len(r.body)) {
				t.Fatalf("Content-Length %q for %d bytes", r.header.Get("Content-Length"), len(r.body))
			}
		})
	}
	t.Run("an admin's /api/users?select=password,salt", func(t *testing.T) {
		up.override("/api/users", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write([]byte(`[{"_id":"u1","username":"a","password":"$2a$10$abcdefghijklmnopqrstuv","salt":"$2a$10$abcdefghijklmnopqrstuv","tokens":[{"tokenIdentifier":"x"}]}]`))
		})
		r := a.get("/api/users?select=username,password,salt,tokens", a.pair(qelostest.AdminEmail, acmeID, false)...)
		if got := strings.TrimSpace(string(r.body)); got != `[{"_id":"u1","username":"a"}]` {
			t.Fatalf("%d %s", r.status, got)
		}
	})
}

// TestThreatDotSegmentDeepEncoding: a dot-segment at any depth of
// percent-encoding is refused before anything reaches Qelos, while a path
// with an honest literal '%' is forwarded.
func TestThreatDotSegmentDeepEncoding(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	deep := "%2e"
	for range 12 {
		deep = strings.ReplaceAll(deep, "%", "%25")
	}
	tests := []struct {
		path string
		want int
	}{
		{"/api/%2e%2e/admin", 400},
		{"/api/%252e%252e/admin", 400},
		{"/api/%2525252e%2525252e/x", 400},
		{"/api/" + deep + deep + "/x", 400},
		{"/api/..%2fadmin", 400},
		{"/api/%2e%2e%5cadmin", 400},
		{"/api/x%25252f..%25252fadmin", 400},
		{"/api/" + strings.Repeat("a", 9000), 414},
		{"/api/echo/100%25.pdf", 200},
		{"/api/echo/50%2525off", 200},
	}
	for _, tt := range tests {
		t.Run(tt.path[:min(len(tt.path), 60)], func(t *testing.T) {
			before := up.count()
			req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/", nil)
			req.URL.Opaque = tt.path // sent as written
			r := a.send(req)
			if tt.want != 200 {
				if r.status != tt.want || up.count() != before {
					t.Fatalf("%d (%d upstream requests), want %d and none", r.status, up.count()-before, tt.want)
				}
				return
			}
			if up.count() != before+1 {
				t.Fatalf("%d %s: not forwarded", r.status, r.body)
			}
		})
	}
}

// hs256 signs a raw JSON claim set, byte for byte as given (duplicate and
// case-variant keys included), with secret.
func hs256(payload, secret string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestThreatClaimCase: claims are read by their exact names and dates only
// as JSON numbers, as Qelos reads them: a token of tenant 999 that adds
// "TENANT":"0" is still of tenant 999, and an exp, nbf or iat written as a
// string makes the token unusable, whether it comes as a bearer (verified
// with JWTSecret) or sealed in the pair.
func TestThreatClaimCase(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.JWTSecret = qelostest.DefaultJWTSecret })
	admin, _, _ := h.qelos.IssuePair(qelostest.AdminEmail, "")
	sub := subject(t, admin)
	exp := time.Now().Add(time.Hour).Unix()
	claims := func(rest string) string {
		return fmt.Sprintf(`{"sub":%q,"email":"%s","roles":["admin"],%s}`, sub, qelostest.AdminEmail, rest)
	}
	tests := []struct {
		name, payload string
		ok            bool
	}{
		{"the honest token", claims(fmt.Sprintf(`"tenant":"0","exp":%d`, exp)), true},
		{"tenant 999 with TENANT 0", claims(fmt.Sprintf(`"tenant":"999","TENANT":"0","exp":%d`, exp)), false},
		{"tenant 999 with Tenant 0", claims(fmt.Sprintf(`"tenant":"999","Tenant":"0","exp":%d`, exp)), false},
		{"no tenant but TENANT 0", claims(fmt.Sprintf(`"TENANT":"0","exp":%d`, exp)), false},
		{"exp as a string", claims(fmt.Sprintf(`"tenant":"0","exp":"%d"`, exp)), false},
		{"EXP instead of exp", claims(fmt.Sprintf(`"tenant":"0","EXP":%d`, exp)), false},
		{"nbf as a string", claims(fmt.Sprintf(`"tenant":"0","exp":%d,"nbf":"0"`, exp)), false},
		{"iat as a string", claims(fmt.Sprintf(`"tenant":"0","exp":%d,"iat":"0"`, exp)), false},
		{"roles as a string", fmt.Sprintf(`{"sub":%q,"tenant":"0","exp":%d,"roles":"admin"}`, sub, exp), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := hs256(tt.payload, qelostest.DefaultJWTSecret)
			req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/private", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			bearer := h.send(req)
			cookies, _ := sealedPair(t, h, tok)
			pair := h.get("/private", cookies...)
			for _, r := range []reply{bearer, pair} {
				if (r.status == http.StatusOK) != tt.ok {
					t.Fatalf("bearer %d, pair %d %s; want accepted=%v", bearer.status, pair.status, pair.body, tt.ok)
				}
			}
		})
	}
}

// TestThreatSignupLineSeparator: sign-up refuses names holding line and
// paragraph separators and format characters (bidi overrides, zero-width
// characters, the BOM), not only control characters, before Qelos is
// asked.
func TestThreatSignupLineSeparator(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	for _, bad := range []string{"\u2028", "\u2029", "\u202e", "\u200b", "\ufeff", "\u0085", "\u00ad", "\U000e0001", "\ufffe"} {
		t.Run(fmt.Sprintf("%U", []rune(bad)[0]), func(t *testing.T) {
			before := h.qelos.Calls(qelostest.EndpointSignUp)
			body, _ := json.Marshal(map[string]string{"username": "eve" + fmt.Sprint(time.Now().UnixNano()) + "@example.com",
				"password": "Eve-Pass-123", "firstName": "Eve", "lastName": "Admin" + bad + "Root"})
			r := h.do(http.MethodPost, "/auth/signup", strings.NewReader(string(body)), "application/json")
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"lastName":"INVALID_CHARACTERS"`) {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if n := h.qelos.Calls(qelostest.EndpointSignUp) - before; n != 0 {
				t.Fatalf("Qelos was asked %d times", n)
			}
		})
	}
	t.Run("an honest accented name passes", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"username": "zoe@example.com", "password": "Zoe-Pass-123", "firstName": "Zoe", "lastName": "Müller-Ñúñez"})
		if r := h.do(http.MethodPost, "/auth/signup", strings.NewReader(string(body)), "application/json"); r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}

// TestThreatSocialStateReplay: a state and its state cookie, kept from a
// completed social sign-in, cannot sign anyone in again, even with a fresh
// refresh token; a state older than its 10 minutes is refused too.
func TestThreatSocialStateReplay(t *testing.T) {
	h := socialApp(t)
	state, stateCookie := startSocial(t, h, "/")
	_, rt, _ := h.qelos.IssuePair(qelostest.AdminEmail, "")
	if r := h.get("/auth/callback?rt="+url.QueryEscape(rt)+"&state="+state, stateCookie); r.status != http.StatusSeeOther {
		t.Fatalf("first use: %d %s", r.status, r.body)
	}
	_, rt2, _ := h.qelos.IssuePair(qelostest.UserEmail, "")
	r := h.get("/auth/callback?rt="+url.QueryEscape(rt2)+"&state="+state, stateCookie)
	if r.status != http.StatusForbidden {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	if _, set := r.cookies[accessCookie]; set {
		t.Fatal("the replayed state set a session")
	}

	t.Run("a state Qelos refused the token of can still be used", func(t *testing.T) {
		state, stateCookie := startSocial(t, h, "/")
		if r := h.get("/auth/callback?rt=forged&state="+state, stateCookie); r.status != http.StatusUnauthorized {
			t.Fatalf("forged rt: %d", r.status)
		}
		_, rt, _ := h.qelos.IssuePair(qelostest.AdminEmail, "")
		if r := h.get("/auth/callback?rt="+url.QueryEscape(rt)+"&state="+state, stateCookie); r.status != http.StatusSeeOther {
			t.Fatalf("then a good rt: %d %s", r.status, r.body)
		}
	})
}

// TestSocialStateExpires: the expiry sealed in the state cookie is checked
// by the server, not left to the browser's Max-Age.
func TestSocialStateExpires(t *testing.T) {
	clock := qelostest.NewClock(time.Now())
	h := newHarness(t, qelostest.Options{Now: clock.Now}, func(c *middleware.Config) { c.Now = clock.Now })
	mux := appMux(h.mw)
	mux.Handle("GET /auth/google", h.mw.SocialLoginHandler("google", "/auth/callback"))
	mux.Handle("GET /auth/callback", h.mw.SocialCallbackHandler())
	h.app = newTestServer(t, h.mw.Handler(mux))
	state, stateCookie := startSocial(t, h, "/")
	clock.Advance(11 * time.Minute)
	_, rt, _ := h.qelos.IssuePair(qelostest.AdminEmail, "")
	if r := h.get("/auth/callback?rt="+url.QueryEscape(rt)+"&state="+state, stateCookie); r.status != http.StatusForbidden {
		t.Fatalf("an 11-minute-old state: %d %s", r.status, r.body)
	}
}

// TestThreatProxyWebsocketUpgrade: the proxy refuses a WebSocket upgrade
// before anything reaches Qelos, and switches no other protocol: an h2c
// upgrade is forwarded as a plain request.
func TestThreatProxyWebsocketUpgrade(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/api/echo", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Version", "13")
	r := a.send(req)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), qelos.CodeProxyUpgradeRefused) || len(up.requests("/api/echo")) != 0 {
		t.Fatalf("%d %s, %d upstream requests", r.status, r.body, len(up.requests("/api/echo")))
	}
	req, _ = http.NewRequest(http.MethodGet, a.app.URL+"/api/echo", nil)
	req.Header.Set("Connection", "Upgrade, HTTP2-Settings")
	req.Header.Set("Upgrade", "h2c")
	if r := a.send(req); r.status != 200 {
		t.Fatalf("h2c: %d %s", r.status, r.body)
	}
	seen := up.requests("/api/echo")
	if len(seen) != 1 || seen[0].header.Get("Upgrade") != "" || seen[0].header.Get("Connection") != "" {
		t.Fatalf("forwarded %+v", seen)
	}
}

// TestNoStoreWriterPassesCapabilities: the writer that enforces the cache
// headers still reaches the server's writer through
// http.ResponseController.
func TestNoStoreWriterPassesCapabilities(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	var deadlineErr error
	srv := newTestServer(t, h.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadlineErr = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
		w.WriteHeader(http.StatusNoContent)
	})))
	h.app = srv
	r := h.get("/", h.pair(qelostest.AdminEmail, acmeID, true)...)
	if _, ok := r.cookies[accessCookie]; !ok || deadlineErr != nil || r.header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("%d cookies %v, SetWriteDeadline: %v, Cache-Control %q", r.status, r.cookies, deadlineErr, r.header.Get("Cache-Control"))
	}
}

// count is how many requests the upstream saw.
func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}
