package middleware_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

func TestSignIn(t *testing.T) {
	admin := `{"username":"` + qelostest.AdminEmail + `","password":"` + qelostest.AdminPassword + `"}`
	tests := []struct {
		name        string
		body        string
		contentType string
		query       string
		fault       *qelostest.Fault
		wantStatus  int
		wantCode    string
		wantTo      string
	}{
		{"JSON credentials", admin, "application/json", "", nil, 200, "", ""},
		{"form credentials", "username=" + qelostest.UserEmail + "&password=" + qelostest.UserPassword, "application/x-www-form-urlencoded", "", nil, 200, "", ""},
		{"email instead of username", `{"email":"` + qelostest.AdminEmail + `","password":"` + qelostest.AdminPassword + `"}`, "application/json", "", nil, 200, "", ""},
		{"wrong password", `{"username":"` + qelostest.AdminEmail + `","password":"nope"}`, "application/json", "", nil, 401, "INVALID_CREDENTIALS", ""},
		{"unknown user", `{"username":"ghost@example.com","password":"x"}`, "application/json", "", nil, 401, "INVALID_CREDENTIALS", ""},
		{"missing password", `{"username":"` + qelostest.AdminEmail + `"}`, "application/json", "", nil, 400, "INVALID_INPUT", ""},
		{"not JSON", `{"username":`, "application/json", "", nil, 400, "INVALID_INPUT", ""},
		{"Qelos down", admin, "application/json", "", &qelostest.Fault{Drop: true}, 503, "QELOS_UNAVAILABLE", ""},
		{"Qelos 500", admin, "application/json", "", &qelostest.Fault{Status: 500}, 503, "QELOS_UNAVAILABLE", ""},
		{"Qelos garbage", admin, "application/json", "", &qelostest.Fault{Garbage: true}, 503, "QELOS_UNAVAILABLE", ""},
		{"same-origin returnTo redirects", admin, "application/json", "?returnTo=/account%3Ftab%3D1", nil, 303, "", "/account?tab=1"},
		{"foreign returnTo is ignored", admin, "application/json", "?returnTo=//evil.example", nil, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, nil)
			if tt.fault != nil {
				h.qelos.InjectFault(qelostest.EndpointSignIn, *tt.fault)
			}
			r := h.do(http.MethodPost, "/auth/signin"+tt.query, strings.NewReader(tt.body), tt.contentType)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantCode != "" && !strings.Contains(string(r.body), `"code":"`+tt.wantCode+`"`) {
				t.Fatalf("body %s, want code %s", r.body, tt.wantCode)
			}
			if tt.wantTo != "" && r.header.Get("Location") != tt.wantTo {
				t.Fatalf("Location %q, want %q", r.header.Get("Location"), tt.wantTo)
			}
			signedIn := tt.wantStatus == 200 || tt.wantStatus == 303
			if _, set := r.cookies[accessCookie]; set != signedIn {
				t.Fatalf("session cookies set = %v, want %v", set, signedIn)
			}
			if signedIn {
				cookies := h.sessionCookies(r)
				if r := h.get("/private", cookies...); r.status != 200 {
					t.Fatalf("session after sign-in: %d %s", r.status, r.body)
				}
			}
		})
	}
	t.Run("GET is refused", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, nil)
		r := h.get("/auth/signin")
		if r.status != 405 && r.status != 404 {
			t.Fatalf("status %d", r.status)
		}
	})
}

func TestSignOut(t *testing.T) {
	t.Run("revokes upstream and clears the pair", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, nil)
		cookies := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
		_, refreshTok := h.tokens(map[string]*http.Cookie{cookies[0].Name: cookies[0], cookies[1].Name: cookies[1]})
		r := h.do(http.MethodPost, "/auth/signout", nil, "", cookies...)
		if r.status != 204 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		if !r.cleared(accessCookie) || !r.cleared(refreshCookie) {
			t.Fatalf("not cleared: %v", r.cookies)
		}
		if n := h.qelos.Calls(qelostest.EndpointLogout); n != 1 {
			t.Fatalf("%d logout calls, want 1", n)
		}
		// Qelos revoked the refresh token: the old pair cannot come back.
		if _, err := refreshWith(h, refreshTok); err == nil {
			t.Fatal("refresh token still valid after sign-out")
		}
	})
	t.Run("an expired session is refreshed so it can be revoked", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, nil)
		r := h.do(http.MethodPost, "/auth/signout", nil, "", h.pair(qelostest.AdminEmail, acmeID, true)...)
		if r.status != 204 || h.qelos.Calls(qelostest.EndpointRefresh) != 1 || h.qelos.Calls(qelostest.EndpointLogout) != 1 {
			t.Fatalf("status %d, refresh %d, logout %d", r.status, h.qelos.Calls(qelostest.EndpointRefresh), h.qelos.Calls(qelostest.EndpointLogout))
		}
	})
	t.Run("Qelos down still clears the pair", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.Limits.UpstreamTimeout = 200 * time.Millisecond })
		cookies := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
		h.qelos.InjectFault(qelostest.EndpointLogout, qelostest.Fault{Drop: true})
		r := h.do(http.MethodPost, "/auth/signout?returnTo=/", nil, "", cookies...)
		if r.status != 303 || r.header.Get("Location") != "/" {
			t.Fatalf("status %d Location %q", r.status, r.header.Get("Location"))
		}
		if !r.cleared(accessCookie) || !r.cleared(refreshCookie) {
			t.Fatalf("not cleared: %v", r.cookies)
		}
	})
	t.Run("anonymous sign-out is harmless", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, nil)
		if r := h.do(http.MethodPost, "/auth/signout", nil, ""); r.status != 204 {
			t.Fatalf("status %d", r.status)
		}
		if n := h.qelos.Calls(qelostest.EndpointLogout); n != 0 {
			t.Fatalf("%d logout calls for an anonymous sign-out", n)
		}
	})
}

// refreshWith spends a refresh token directly at Qelos.
func refreshWith(h *harness, refreshTok string) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, h.qelos.URL+"/api/token/refresh", nil)
	req.Header.Set("Authorization", "Bearer "+refreshTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, errStatus(resp.StatusCode)
	}
	return 200, nil
}

type errStatus int

func (e errStatus) Error() string { return http.StatusText(int(e)) }

func TestSafeRedirect(t *testing.T) {
	tests := []struct {
		target string
		safe   bool
	}{
		{"/", true},
		{"/account?tab=1#x", true},
		{"/a/b/../c", true},
		{"", false},
		{"account", false},
		{"//evil.com", false},
		{"///evil.com", false},
		{`/\evil.com`, false},
		{`\\evil.com`, false},
		{"https://evil.com", false},
		{"https:evil.com", false},
		{"javascript:alert(1)", false},
		{"/%2F%2Fevil.com", false},
		{"/%5Cevil.com", false},
		{"/\r\nSet-Cookie: x=1", false},
		{"/%0d%0aSet-Cookie:x", true}, // stays encoded in the Location header: harmless
		{"/\tevil", false},
		{"/" + strings.Repeat("a", 3000), false},
	}
	for _, tt := range tests {
		if got := middleware.SafeRedirect(tt.target); got != tt.safe {
			t.Errorf("SafeRedirect(%q) = %v, want %v", tt.target, got, tt.safe)
		}
	}
}

func TestNoTokenOrCookieIsLogged(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	cookies := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
	expired := h.pair(qelostest.AdminEmail, acmeID, true)
	h.get("/private", expired...)                                      // a refresh
	h.get("/private", &http.Cookie{Name: expired[0].Name, Value: "x"}) // a rejection
	h.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Status: 500})
	h.get("/private", h.pair(qelostest.AdminEmail, acmeID, true)...) // a failure
	h.do(http.MethodPost, "/auth/signout", nil, "", cookies...)

	logs := h.logs.String()
	if !strings.Contains(logs, "refreshed") || !strings.Contains(logs, "cookie-rejected") || !strings.Contains(logs, "refresh-failed") {
		t.Fatalf("expected events missing from the log:\n%s", logs)
	}
	secrets := []string{"eyJ", qelostest.AdminPassword}
	for _, c := range append(cookies, expired...) {
		secrets = append(secrets, c.Value[:20])
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Fatalf("log contains a secret (%q…):\n%s", s[:4], logs)
		}
	}
}

// TestNoExpiredAccessTokenInACookie: a straggler with the old pair gets the
// recorded outcome of its refresh; when that outcome's access token has
// expired since, the middleware exchanges it in turn rather than write a
// cookie holding an expired token.
func TestNoExpiredAccessTokenInACookie(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	h := newHarness(t, qelostest.Options{Now: now}, nil)
	middleware.SetClock(h.mw, now)
	old := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)

	advance(6 * time.Hour) // past the 5 h access lifetime
	r := h.get("/private", old...)
	if r.status != 200 {
		t.Fatalf("first refresh: %d %s", r.status, r.body)
	}
	recorded, _ := h.tokens(r.cookies)

	advance(6 * time.Hour) // the recorded pair's access token has expired too
	r = h.get("/private", old...)
	if r.status != 200 || len(r.cookies) != 2 {
		t.Fatalf("straggler: %d %s", r.status, r.body)
	}
	access, _ := h.tokens(r.cookies)
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(access, &claims); err != nil {
		t.Fatal(err)
	}
	if access == recorded || !now().Before(claims.ExpiresAt.Time) {
		t.Fatalf("the straggler's cookie holds an access token that expired at %v (now %v)", claims.ExpiresAt.Time, now())
	}
	if n := h.qelos.Calls(qelostest.EndpointRefresh); n != 2 {
		t.Fatalf("%d refreshes, want 2 (the first, then the stale outcome's)", n)
	}
}
