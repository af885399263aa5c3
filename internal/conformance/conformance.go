// Package conformance is the one definition of how an app using the Qelos
// middleware behaves, whatever framework serves it. The net/http run lives
// in this package's tests; the gin and echo runs live in each adapter's
// tests. All of them call [Run] with a [Mount] of their own, so a behaviour
// that differs between frameworks is a failing row, not a surprise.
package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
)

// Mount builds the app under test around mw, in a framework's own idiom.
// The app must install mw in front of every route (unrouted paths
// included) and serve:
//
//	GET /whoami   200 {"user": <User or null>, "workspace": <Workspace or null>},
//	              read through the framework's accessors
//	GET /private  the same answer, guarded by the framework's Require(middleware.SignedIn())
//	GET /admin    the same answer, guarded by Require(middleware.HasRole("admin"))
//	GET /editor   the same answer, guarded by Require(middleware.HasWorkspaceRole("editor"))
//	GET /workspace the same answer, guarded by Require(middleware.HasWorkspace())
//	GET /health   a skip path: 200 {"hasAuth": <whether an Auth is in context>}
//	GET /abort    the handler aborts the framework's way with status 403
//	GET /ping     204 when the request has a user, 200 otherwise, no body
//	              (the benchmark route)
//	GET /w/{id}   the /whoami answer, with the workspace chosen by the
//	              framework's SelectWorkspaceParam from the route parameter,
//	              guarded by Require(middleware.HasWorkspace())
type Mount func(mw *middleware.Middleware) http.Handler

// The seeded workspace the demo admin belongs to.
const (
	AcmeID   = qelostest.AcmeWorkspaceID
	AcmeName = "Acme Team"
)

// SkipPath is the skip path of every row's config.
const SkipPath = "/health"

// Session is the cookie pair a request carries.
type Session int

const (
	NoSession   Session = iota // no cookies
	ValidPair                  // a live access token and its refresh token
	ExpiredPair                // an expired access token and a live refresh token
	ForeignPair                // a valid pair sealed with another app's keys
	UserPair                   // a valid pair of the demo user: role "user", no workspace

	// Credentials other than the app's pair, identified by Qelos's /api/me.
	Bearer      // Authorization: Bearer <the admin's live access token>
	APIKey      // x-api-key: <an API token of the admin scoped to Acme>
	BadAPIKey   // x-api-key: <an unknown ql_ token>, beside a valid pair
	Passthrough // Qelos's own qlt_0 session cookie of the admin
)

// Cookies is what an answer must do to the session cookies.
type Cookies int

const (
	Untouched Cookies = iota // no Set-Cookie at all
	Rotated                  // both cookies set to a new pair that works
	Cleared                  // both cookies expired
)

// row is one behaviour, proven by one request.
type row struct {
	name    string
	config  func(*middleware.Config) // applied to the base config; may be nil
	fault   *qelostest.Fault         // injected on the refresh endpoint
	session Session
	path    string
	header  http.Header

	status    int
	body      string // JSON the answer must contain (see contains); "" skips the check
	cookies   Cookies
	refreshes int // calls to the Qelos refresh endpoint
	probes    int // calls to Qelos's /api/me
}

// Bodies the rows expect.
const (
	unauthorized = `{"code":"UNAUTHORIZED"}`
	unavailable  = `{"code":"QELOS_UNAVAILABLE"}`
	anonymous    = `{"user":null,"workspace":null}`
	admin        = `{"user":{"email":"` + qelostest.AdminEmail + `"},"workspace":{"_id":"` + AcmeID + `","name":"` + AcmeName + `"}}`
	adminNoWS    = `{"user":{"email":"` + qelostest.AdminEmail + `"},"workspace":null}`
)

// Faults and configs the rows use.
var (
	serverError = &qelostest.Fault{Status: http.StatusInternalServerError, Body: `{"message":"boom"}`}
	timeout     = &qelostest.Fault{Delay: 2 * time.Second} // UpstreamTimeout is 200 ms
	reset       = &qelostest.Fault{Drop: true}
	rejected    = &qelostest.Fault{Status: http.StatusUnauthorized}

	requireAuth            = func(c *middleware.Config) { c.RequireAuth = true }
	passthrough            = func(c *middleware.Config) { c.Proxy.Passthrough = true }
	passthroughRequireAuth = func(c *middleware.Config) { c.Proxy.Passthrough, c.RequireAuth = true, true }
	jwtSecret              = func(c *middleware.Config) { c.JWTSecret = qelostest.DefaultJWTSecret }
	otherWS                = &middleware.Workspace{ID: "ws-2", Name: "Other", Roles: []string{}, Labels: []string{}}
	byHeader               = func(c *middleware.Config) {
		c.ResolveWorkspace = func(r *http.Request, _ *middleware.User, _ *qelosapi.Client) (*middleware.Workspace, error) {
			if r.Header.Get("X-Workspace") == otherWS.ID {
				return otherWS, nil
			}
			return nil, nil
		}
	}
)

var rows = []row{
	// Anonymous requests.
	{name: "anonymous reaches the handler with no user", path: "/whoami", status: 200, body: anonymous},
	{name: "anonymous is refused by RequireUser", path: "/private", status: 401, body: unauthorized},
	{name: "anonymous reaches an open route without a user", path: "/ping", status: 200},

	// A valid pair costs no upstream call.
	{name: "valid pair shows the user and workspace", session: ValidPair, path: "/whoami", status: 200, body: admin},
	{name: "valid pair passes RequireUser", session: ValidPair, path: "/private", status: 200, body: admin},
	{name: "valid pair is seen by a handler that writes no body", session: ValidPair, path: "/ping", status: 204},

	// An expired pair is refreshed once and the new pair reaches the client.
	{name: "expired pair is refreshed behind RequireUser", session: ExpiredPair, path: "/private", status: 200, body: admin, cookies: Rotated, refreshes: 1},
	{name: "expired pair is refreshed for a handler that writes a body", session: ExpiredPair, path: "/whoami", status: 200, body: admin, cookies: Rotated, refreshes: 1},
	{name: "expired pair is refreshed for a handler that writes no body", session: ExpiredPair, path: "/ping", status: 204, cookies: Rotated, refreshes: 1},
	{name: "expired pair is refreshed for a handler that aborts", session: ExpiredPair, path: "/abort", status: 403, cookies: Rotated, refreshes: 1},
	{name: "expired pair is refreshed on an unrouted path", session: ExpiredPair, path: "/nowhere", status: 404, cookies: Rotated, refreshes: 1},

	// A cookie this app did not seal is cleared.
	{name: "a pair sealed with other keys is cleared and the handler sees no user", session: ForeignPair, path: "/whoami", status: 200, body: anonymous, cookies: Cleared},
	{name: "a pair sealed with other keys is cleared and RequireUser answers 401", session: ForeignPair, path: "/private", status: 401, body: unauthorized, cookies: Cleared},

	// Qelos rejecting the refresh token ends the session.
	{name: "rejected refresh clears the pair and RequireUser answers 401", fault: rejected, session: ExpiredPair, path: "/private", status: 401, body: unauthorized, cookies: Cleared, refreshes: 1},
	{name: "rejected refresh clears the pair and the handler sees no user", fault: rejected, session: ExpiredPair, path: "/whoami", status: 200, body: anonymous, cookies: Cleared, refreshes: 1},

	// A transient fault keeps the session: 503 where a user is needed.
	{name: "refresh answered 500 keeps the pair and RequireUser answers 503", fault: serverError, session: ExpiredPair, path: "/private", status: 503, body: unavailable, refreshes: 1},
	{name: "refresh timing out keeps the pair and RequireUser answers 503", fault: timeout, session: ExpiredPair, path: "/private", status: 503, body: unavailable, refreshes: 1},
	{name: "refresh connection reset keeps the pair and RequireUser answers 503", fault: reset, session: ExpiredPair, path: "/private", status: 503, body: unavailable, refreshes: 1},
	{name: "refresh answered 500 keeps the pair and the handler sees no user", fault: serverError, session: ExpiredPair, path: "/whoami", status: 200, body: anonymous, refreshes: 1},

	// Skip paths are untouched, and only the real request path skips.
	{name: "skip path gets no Auth and no cookie write with an expired pair", session: ExpiredPair, path: SkipPath, status: 200, body: `{"hasAuth":false}`},
	{name: "a header naming a skip path does not skip", session: ExpiredPair, path: "/whoami", header: http.Header{
		"X-Original-Url":     {SkipPath},
		"X-Rewrite-Url":      {SkipPath},
		"X-Forwarded-Prefix": {SkipPath},
		"X-Forwarded-Uri":    {SkipPath},
	}, status: 200, body: admin, cookies: Rotated, refreshes: 1},

	// RequireAuth answers for every route but the skip paths.
	{name: "RequireAuth refuses anonymous on an open route", config: requireAuth, path: "/whoami", status: 401, body: unauthorized},
	{name: "RequireAuth refuses anonymous on an unrouted path", config: requireAuth, path: "/nowhere", status: 401, body: unauthorized},
	{name: "RequireAuth leaves skip paths alone", config: requireAuth, path: SkipPath, status: 200, body: `{"hasAuth":false}`},
	{name: "RequireAuth lets a valid pair through", config: requireAuth, session: ValidPair, path: "/whoami", status: 200, body: admin},
	{name: "RequireAuth refreshes an expired pair", config: requireAuth, session: ExpiredPair, path: "/whoami", status: 200, body: admin, cookies: Rotated, refreshes: 1},
	{name: "RequireAuth answers 503 on a transient fault and keeps the pair", config: requireAuth, fault: serverError, session: ExpiredPair, path: "/whoami", status: 503, body: unavailable, refreshes: 1},
	{name: "RequireAuth answers 401 on a rejected refresh and clears the pair", config: requireAuth, fault: rejected, session: ExpiredPair, path: "/whoami", status: 401, body: unauthorized, cookies: Cleared, refreshes: 1},

	// ResolveWorkspace picks the active workspace per request.
	{name: "ResolveWorkspace picks the workspace the request names", config: byHeader, session: ValidPair, path: "/whoami", header: http.Header{"X-Workspace": {otherWS.ID}}, status: 200, body: `{"workspace":{"_id":"ws-2","name":"Other"}}`},
	{name: "ResolveWorkspace returning nil means no workspace", config: byHeader, session: ValidPair, path: "/whoami", status: 200, body: adminNoWS},
	{name: "ResolveWorkspace applies to a refreshed pair", config: byHeader, session: ExpiredPair, path: "/private", header: http.Header{"X-Workspace": {otherWS.ID}}, status: 200, body: `{"workspace":{"_id":"ws-2"}}`, cookies: Rotated, refreshes: 1},

	// Role and workspace guards.
	{name: "RequireRoles lets a holder through", session: ValidPair, path: "/admin", status: 200, body: admin},
	{name: "RequireRoles refuses a signed-in non-holder with 403", session: UserPair, path: "/admin", status: 403, body: `{"code":"FORBIDDEN"}`},
	{name: "RequireRoles refuses anonymous with 401", path: "/admin", status: 401, body: unauthorized},
	{name: "RequireRoles answers 503 on a transient fault", fault: serverError, session: ExpiredPair, path: "/admin", status: 503, body: unavailable, refreshes: 1},
	{name: "RequireWorkspaceRoles refuses a role the workspace does not give", session: ValidPair, path: "/editor", status: 403, body: `{"code":"FORBIDDEN"}`},
	{name: "RequireWorkspace lets a user with a workspace through", session: ValidPair, path: "/workspace", status: 200, body: admin},
	{name: "RequireWorkspace refuses a user without one with NO_WORKSPACE", session: UserPair, path: "/workspace", status: 403, body: `{"code":"NO_WORKSPACE"}`},

	// SelectWorkspace picks the workspace a route parameter names.
	{name: "SelectWorkspace picks the member workspace the route names", session: ValidPair, path: "/w/" + qelostest.BetaWorkspaceID, status: 200, body: `{"workspace":{"_id":"` + qelostest.BetaWorkspaceID + `","name":"Beta Lab","roles":["user"]}}`},
	{name: "SelectWorkspace refuses a workspace the user is not a member of", session: ValidPair, path: "/w/6b08ed31a15f3cecd2830000", status: 403, body: `{"code":"NO_WORKSPACE"}`},
	{name: "SelectWorkspace leaves anonymous requests to the guard", path: "/w/" + qelostest.BetaWorkspaceID, status: 401, body: unauthorized},

	// Every other credential mode, in Qelos's precedence.
	{name: "a bearer token is identified by Qelos", session: Bearer, path: "/private", status: 200, body: admin, probes: 1},
	{name: "a bearer token is verified locally with JWTSecret", config: jwtSecret, session: Bearer, path: "/private", status: 200, body: admin},
	{name: "a bearer token passes a role guard", session: Bearer, path: "/admin", status: 200, body: admin, probes: 1},
	{name: "an API key is identified by Qelos with its workspace", session: APIKey, path: "/private", status: 200, body: admin, probes: 1},
	{name: "an invalid API key wins over a valid pair and is refused", session: BadAPIKey, path: "/private", status: 401, body: unauthorized, probes: 1},
	{name: "Qelos's session cookie is passed through to /api/me when Passthrough is on", config: passthrough, session: Passthrough, path: "/private", status: 200, body: admin, probes: 1},
	{name: "Qelos's session cookie passes RequireAuth when Passthrough is on", config: passthroughRequireAuth, session: Passthrough, path: "/whoami", status: 200, body: admin, probes: 1},
	{name: "Qelos's session cookie is ignored by default (cookie tossing)", session: Passthrough, path: "/private", status: 401, body: unauthorized},
	{name: "Qelos unavailable for /api/me answers 503, not 401", session: Bearer, path: "/private", status: 503, body: unavailable, probes: 1, fault: meDown},
}

// meDown marks a row whose fault goes on /api/me rather than the refresh
// endpoint.
var meDown = &qelostest.Fault{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>"}

// Run checks every row against the app mount builds. Rows run in parallel,
// each with its own Qelos server, middleware and app.
func Run(t *testing.T, mount Mount) {
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, mount)
		})
	}
}

func (tt row) check(t *testing.T, mount Mount) {
	q := qelostest.New(qelostest.Options{})
	t.Cleanup(q.Close)
	cfg := middleware.Config{
		AppURL:     q.URL,
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		SkipPaths:  []string{SkipPath},
		Limits:     middleware.Limits{UpstreamTimeout: 200 * time.Millisecond},
		Logger:     slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if tt.config != nil {
		tt.config(&cfg)
	}
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatalf("middleware.New: %v", err)
	}
	app := httptest.NewServer(mount(mw))
	t.Cleanup(app.Close)
	sent, header := credentials(t, q, mw, tt.session)
	for k, v := range tt.header {
		header[k] = v
	}
	switch {
	case tt.fault == meDown:
		q.InjectFault(qelostest.EndpointMe, *tt.fault)
	case tt.fault != nil:
		q.InjectFault(qelostest.EndpointRefresh, *tt.fault)
	}

	got := get(t, app.URL+tt.path, header, sent)
	if got.status != tt.status {
		t.Fatalf("GET %s: status %d %s, want %d", tt.path, got.status, got.body, tt.status)
	}
	if tt.body != "" {
		if err := contains(got.body, tt.body); err != nil {
			t.Fatalf("GET %s: body %s: %v", tt.path, got.body, err)
		}
	}
	if n := q.Calls(qelostest.EndpointRefresh); n != tt.refreshes {
		t.Fatalf("GET %s: %d refresh calls, want %d", tt.path, n, tt.refreshes)
	}
	if n := q.Calls(qelostest.EndpointMe); n != tt.probes {
		t.Fatalf("GET %s: %d /api/me calls, want %d", tt.path, n, tt.probes)
	}
	if tt.session >= Bearer && tt.cookies == Untouched {
		if sc := got.header.Values("Set-Cookie"); len(sc) != 0 {
			t.Fatalf("GET %s wrote cookies %q for a %v credential", tt.path, sc, tt.session)
		}
		return
	}
	tt.checkCookies(t, mw, got, sent, app.URL, q)
}

// credentials returns the cookies and headers a request of session s
// carries.
func credentials(t *testing.T, q *qelostest.Server, mw *middleware.Middleware, s Session) ([]*http.Cookie, http.Header) {
	t.Helper()
	h := http.Header{}
	switch s {
	case Bearer:
		tok, err := q.IssueAccessToken(qelostest.AdminEmail, AcmeID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		h.Set("Authorization", "Bearer "+tok)
		return nil, h
	case APIKey:
		key, err := q.IssueAPIToken(qelostest.AdminEmail, AcmeID, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		h.Set("X-Api-Key", key)
		return nil, h
	case BadAPIKey:
		h.Set("X-Api-Key", "ql_"+strings.Repeat("0", 64))
		return Pair(t, q, mw, ValidPair), h
	case Passthrough:
		c, err := q.IssueCookie(qelostest.AdminEmail, AcmeID)
		if err != nil {
			t.Fatal(err)
		}
		return []*http.Cookie{{Name: q.CookieName(), Value: c}}, h
	}
	return Pair(t, q, mw, s), h
}

func (tt row) checkCookies(t *testing.T, mw *middleware.Middleware, got answer, sent []*http.Cookie, appURL string, q *qelostest.Server) {
	t.Helper()
	access, refreshName := mw.CookieNames()
	names := []string{access, refreshName}
	if tt.cookies != Untouched {
		// An answer that sets or clears a cookie is one no cache may
		// store, however the framework wrote it.
		if cc, vary := got.header.Values("Cache-Control"), strings.Join(got.header.Values("Vary"), ","); len(cc) != 1 || cc[0] != "private, no-store" || !strings.Contains(vary, "Cookie") {
			t.Fatalf("GET %s set cookies with Cache-Control %q and Vary %q, want \"private, no-store\" and Cookie", tt.path, cc, vary)
		}
	}
	switch tt.cookies {
	case Untouched:
		if sc := got.header.Values("Set-Cookie"); len(sc) != 0 {
			t.Fatalf("GET %s wrote cookies %q, want none", tt.path, sc)
		}
		return
	case Cleared:
		for _, n := range names {
			if c := got.cookies[n]; c == nil || c.MaxAge >= 0 {
				t.Fatalf("GET %s: cookie %s is %+v, want it cleared", tt.path, n, c)
			}
		}
		return
	}
	var next []*http.Cookie
	for i, n := range names {
		c := got.cookies[n]
		if c == nil || c.MaxAge <= 0 || c.Value == sent[i].Value || !c.HttpOnly {
			t.Fatalf("GET %s: cookie %s is %+v, want a new HttpOnly pair", tt.path, n, c)
		}
		next = append(next, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	if n := len(got.header.Values("Set-Cookie")); n != len(names) {
		t.Fatalf("GET %s wrote %d Set-Cookie headers, want %d", tt.path, n, len(names))
	}
	// The new pair works at once and needs no further refresh.
	again := get(t, appURL+"/whoami", tt.header, next)
	if err := contains(again.body, `{"user":{"email":"`+qelostest.AdminEmail+`"}}`); err != nil || len(again.cookies) != 0 {
		t.Fatalf("the rotated pair: %d %s %v (%v)", again.status, again.body, again.cookies, err)
	}
	if n := q.Calls(qelostest.EndpointRefresh); n != tt.refreshes {
		t.Fatalf("the rotated pair caused a refresh (%d calls)", n)
	}
}

// Pair seals a session for the demo admin in workspace Acme with mw's keys,
// as sign-in would, and returns it as request cookies (nil for NoSession).
// An ExpiredPair has an access token that expired a minute ago and a live,
// unspent refresh token; a ForeignPair is sealed with keys mw does not know.
func Pair(t testing.TB, q *qelostest.Server, mw *middleware.Middleware, s Session) []*http.Cookie {
	t.Helper()
	switch s {
	case NoSession:
		return nil
	case ForeignPair:
		other, err := middleware.New(middleware.Config{AppURL: q.URL, CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()}})
		if err != nil {
			t.Fatal(err)
		}
		return Pair(t, q, other, ValidPair)
	}
	email, wsID := qelostest.AdminEmail, AcmeID
	ws := &middleware.Workspace{ID: AcmeID, Name: AcmeName, Roles: []string{"admin", "user"}, Labels: []string{}}
	if s == UserPair {
		email, wsID, ws = qelostest.UserEmail, "", nil
	}
	access, refreshTok, err := q.IssuePair(email, wsID)
	if err != nil {
		t.Fatal(err)
	}
	if s == ExpiredPair {
		if access, err = q.IssueAccessToken(email, wsID, -time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	if _, err := mw.StartSession(rec, refresh.Pair{AccessToken: access, RefreshToken: refreshTok}, ws); err != nil {
		t.Fatal(err)
	}
	var out []*http.Cookie
	access, refreshName := mw.CookieNames()
	for _, name := range []string{access, refreshName} {
		for _, c := range rec.Result().Cookies() {
			if c.Name == name {
				out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
			}
		}
	}
	if len(out) != 2 {
		t.Fatalf("StartSession set %d session cookies, want 2", len(out))
	}
	return out
}

// answer is a response, read whole.
type answer struct {
	status  int
	body    []byte
	header  http.Header
	cookies map[string]*http.Cookie
}

func get(t *testing.T, url string, header http.Header, cookies []*http.Cookie) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: body, header: resp.Header, cookies: map[string]*http.Cookie{}}
	for _, c := range resp.Cookies() {
		a.cookies[c.Name] = c
	}
	return a
}

// contains reports, as an error, how the JSON body falls short of want:
// every field of a want object must be in the body's object with a value
// that contains the wanted one; any other value must be equal. The body
// must be exactly one JSON value, so an answer written twice fails.
func contains(body []byte, want string) error {
	var g, w any
	if err := json.Unmarshal(body, &g); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		panic("conformance: bad want " + want)
	}
	if !containsValue(g, w) {
		return fmt.Errorf("does not contain %s", want)
	}
	return nil
}

func containsValue(got, want any) bool {
	w, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(got, want)
	}
	g, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range w {
		gv, ok := g[k]
		if !ok || !containsValue(gv, wv) {
			return false
		}
	}
	return true
}
