package middleware_test

// The pair stays within MaxSessionBytes whatever Qelos returns: display
// data sealed with the session is bounded, an access token made large by a
// workspace's name is exchanged for a slim one, and a profile too large
// for cookies is refused with a clear error, never split into a cookie
// bomb.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
)

// pairBytes is what the session cookies of an answer weigh: the bytes the
// browser then sends in its Cookie header ("name=value; name=value"), the
// bytes of their Set-Cookie lines, and how many cookies were set.
func pairBytes(r reply) (cookieHeader, setCookie, count int) {
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.MaxAge < 0 || c.Value == "" {
			continue
		}
		if count > 0 {
			cookieHeader += len("; ")
		}
		cookieHeader += len(c.Name) + 1 + len(c.Value)
		setCookie += len(line)
		count++
	}
	return cookieHeader, setCookie, count
}

// memberID is a user of the Acme workspace who is not its admin.
const memberID = "6b08ed31a15f3cecd28365aa"

// teamOptions seed the admin and a plain member of Acme.
func teamOptions() qelostest.Options {
	users := append(qelostest.DefaultUsers(), qelostest.User{ID: memberID, Email: "member@example.com", Password: "Member-Pass-123", FirstName: "Mia", LastName: "Member"})
	ws := qelostest.DefaultWorkspaces()
	ws[0].Members = append(ws[0].Members, qelostest.Member{UserID: memberID, Roles: []string{"user"}})
	return qelostest.Options{Users: users, Workspaces: ws}
}

// renameWorkspace renames a workspace as its admin would, at Qelos.
func renameWorkspace(t *testing.T, q *qelostest.Server, id, name string) {
	t.Helper()
	access, _, err := q.IssuePair(qelostest.AdminEmail, "")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"name": name})
	req, _ := http.NewRequest(http.MethodPut, q.URL+"/api/workspaces/"+id, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("rename: %d", resp.StatusCode)
	}
}

// TestThreatCookieBombWorkspaceName: a workspace admin renames the
// workspace to 8,000 or 13,500 characters. Every member's session, renewed
// at its next refresh or started by a new sign-in, stays within
// MaxSessionBytes in two cookies and signed in to that workspace, its name
// cut to the documented bound.
func TestThreatCookieBombWorkspaceName(t *testing.T) {
	for _, size := range []int{8000, 13500} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			h := newHarness(t, teamOptions(), nil)
			sessions := map[string][]*http.Cookie{
				"member": h.signIn("member@example.com", "Member-Pass-123"),
				"admin":  h.signIn(qelostest.AdminEmail, qelostest.AdminPassword),
			}
			name := strings.Repeat("W", size)
			renameWorkspace(t, h.qelos, acmeID, name)
			check := func(how string, r reply) {
				t.Helper()
				n, sc, count := pairBytes(r)
				t.Logf("%s, workspace name of %d characters: %d cookies, %d bytes in the Cookie header, %d bytes of Set-Cookie", how, size, count, n, sc)
				if r.status != 200 || count != 2 || n > middleware.MaxSessionBytes {
					t.Fatalf("%s: %d, %d cookies of %d bytes, want 2 within %d", how, r.status, count, n, middleware.MaxSessionBytes)
				}
				cookies := h.sessionCookies(r)
				w := h.get("/private", cookies...)
				ws := w.whoami(t).Workspace
				if w.status != 200 || ws == nil || ws.ID != acmeID || ws.Name != name[:128] {
					t.Fatalf("%s: then %d %.300s", how, w.status, w.body)
				}
			}
			later(h, 301*time.Minute)
			for who, cookies := range sessions {
				check(who+" refreshed", h.get("/private", cookies...))
			}
			later(h, 0)
			body, _ := json.Marshal(map[string]string{"username": "member@example.com", "password": "Member-Pass-123"})
			check("member signed in", h.do(http.MethodPost, "/auth/signin", bytes.NewReader(body), "application/json"))
		})
	}
}

// TestThreatCookieBombLongName: a user who signs up with a first name of
// hundreds of characters (Qelos puts names in the access token and bounds
// none) gets a session within MaxSessionBytes, or a clear 422
// SESSION_TOO_LARGE and no cookie at all — never a pair split over many
// cookies.
func TestThreatCookieBombLongName(t *testing.T) {
	for _, tt := range []struct {
		first string
		fits  bool
	}{
		{strings.Repeat("A", 100), true},
		{strings.Repeat("A", 900), false},
		{strings.Repeat("A", 1800), false},
		{strings.Repeat("A", 10000), false},
	} {
		t.Run(fmt.Sprint(len(tt.first)), func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, nil)
			body, _ := json.Marshal(map[string]string{"username": "long@example.com", "password": "Long-Name-Pass-1", "firstName": tt.first, "lastName": "Smith"})
			r := h.do(http.MethodPost, "/auth/signup", bytes.NewReader(body), "application/json")
			n, sc, count := pairBytes(r)
			t.Logf("first name of %d characters: %d, %d cookies, %d bytes in the Cookie header, %d bytes of Set-Cookie", len(tt.first), r.status, count, n, sc)
			if n > middleware.MaxSessionBytes {
				t.Fatalf("a pair of %d bytes", n)
			}
			if tt.fits {
				if r.status != 200 || count != 2 {
					t.Fatalf("sign-up: %d, %d cookies", r.status, count)
				}
				if w := h.get("/private", h.sessionCookies(r)...); w.status != 200 || w.whoami(t).User.FirstName != tt.first {
					t.Fatalf("then %d", w.status)
				}
				return
			}
			if r.status != 422 || !strings.Contains(string(r.body), qelos.CodeSessionTooLarge) || count != 0 {
				t.Fatalf("sign-up: %d %s, %d cookies; want 422 %s and none", r.status, r.body, count, qelos.CodeSessionTooLarge)
			}
			if !strings.Contains(h.logs.String(), "too large") {
				t.Fatalf("the log does not say why:\n%s", h.logs.String())
			}
		})
	}
}

// TestProfileGrownTooLargeEndsAtRefresh: a user whose names grow past what
// cookies hold after signing in is signed out at the next refresh, with
// the reason in the log; the pair is cleared, not split.
func TestProfileGrownTooLargeEndsAtRefresh(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	cookies := h.signIn(qelostest.UserEmail, qelostest.UserPassword)
	err := withClient(t, h, cookies, func(c *qelosapi.Client, ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/api/me", strings.NewReader(`{"firstName":"`+strings.Repeat("B", 3000)+`"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	later(h, 301*time.Minute)
	r := h.get("/whoami", cookies...)
	if r.whoami(t).User != nil || !r.cleared(accessCookie) || !r.cleared(refreshCookie) {
		t.Fatalf("%d %s %v", r.status, r.body, r.cookies)
	}
	if n, _, _ := pairBytes(r); n != 0 {
		t.Fatalf("set %d bytes of session cookies", n)
	}
	if !strings.Contains(h.logs.String(), "does not fit") {
		t.Fatalf("the log does not say why:\n%s", h.logs.String())
	}
}

// TestLegacyChunkedSessionIsRenewedSmall: a session an earlier version
// split over chunk cookies (its workspace name sealed in both halves) is
// read, renewed within MaxSessionBytes at its first request, and its
// chunks cleared. More chunks than the bound are not read.
func TestLegacyChunkedSessionIsRenewedSmall(t *testing.T) {
	h := newHarness(t, teamOptions(), nil)
	access, refreshTok, err := h.qelos.IssuePair("member@example.com", acmeID)
	if err != nil {
		t.Fatal(err)
	}
	big := &middleware.Workspace{ID: acmeID, Name: strings.Repeat("W", 8000), Roles: []string{"user"}}
	sa, sr := middleware.SealLegacyPair(h.mw, access, refreshTok, big)
	var cookies []*http.Cookie
	for _, c := range []struct{ name, value string }{{accessCookie, sa}, {refreshCookie, sr}} {
		for i, rest := 0, c.value; rest != ""; i++ {
			part := rest[:min(3900, len(rest))]
			rest = rest[len(part):]
			cookies = append(cookies, &http.Cookie{Name: fmt.Sprintf("%s_%d", c.name, i), Value: part})
		}
	}
	if len(cookies) < 6 {
		t.Fatalf("the legacy session has %d chunks", len(cookies))
	}
	r := h.get("/private", cookies...)
	if n, _, count := pairBytes(r); r.status != 200 || count != 2 || n > middleware.MaxSessionBytes {
		t.Fatalf("legacy chunked session: %d, %d cookies of %d bytes", r.status, count, n)
	}
	for _, c := range cookies {
		if !r.cleared(c.Name) {
			t.Errorf("chunk %s not cleared", c.Name)
		}
	}
	if w := h.get("/private", h.sessionCookies(r)...); w.status != 200 || w.whoami(t).Workspace.ID != acmeID {
		t.Fatalf("renewed session: %d", w.status)
	}
	t.Run("no more chunks than the bound are read", func(t *testing.T) {
		var cookies []*http.Cookie
		for i := range 20 { // 60 KB: within Limits.MaxCookieBytes, over the chunk bound
			cookies = append(cookies, &http.Cookie{Name: fmt.Sprintf("%s_%d", accessCookie, i), Value: strings.Repeat("A", 3000)})
		}
		r := h.get("/private", cookies...)
		if r.status != 401 || !r.cleared(accessCookie) {
			t.Fatalf("%d %s: want 401 and the session cleared", r.status, r.body)
		}
	})
}

// TestSessionSizes measures the pair of an ordinary user, of the longest
// first name that fits, and of a member of a workspace with an 8,000-
// character name, as README and docs/SECURITY.md quote them.
func TestSessionSizes(t *testing.T) {
	h := newHarness(t, teamOptions(), nil)
	measure := func(what string, r reply) int {
		t.Helper()
		n, sc, count := pairBytes(r)
		t.Logf("%-46s %d: %d cookies, %4d bytes in the Cookie header, %4d bytes of Set-Cookie", what, r.status, count, n, sc)
		return n
	}
	signIn := func(user, password string) reply {
		body, _ := json.Marshal(map[string]string{"username": user, "password": password})
		return h.do(http.MethodPost, "/auth/signin", bytes.NewReader(body), "application/json")
	}
	measure("admin, Acme Team", signIn(qelostest.AdminEmail, qelostest.AdminPassword))
	measure("member, Acme Team", signIn("member@example.com", "Member-Pass-123"))
	measure("user, no workspace", signIn(qelostest.UserEmail, qelostest.UserPassword))
	longest := 0
	for n := 50; n <= 1000; n += 10 {
		body, _ := json.Marshal(map[string]string{"username": fmt.Sprintf("long%d@example.com", n), "password": "Long-Name-Pass-1", "firstName": strings.Repeat("A", n), "lastName": "Smith"})
		r := h.do(http.MethodPost, "/auth/signup", bytes.NewReader(body), "application/json")
		if r.status != 200 {
			break
		}
		longest = n
	}
	body, _ := json.Marshal(map[string]string{"username": "last@example.com", "password": "Long-Name-Pass-1", "firstName": strings.Repeat("A", longest), "lastName": "Smith"})
	measure(fmt.Sprintf("sign-up, first name of %d (the longest that fits)", longest), h.do(http.MethodPost, "/auth/signup", bytes.NewReader(body), "application/json"))
	renameWorkspace(t, h.qelos, acmeID, strings.Repeat("W", 8000))
	measure("member, workspace named with 8,000 characters", signIn("member@example.com", "Member-Pass-123"))
	if longest < 100 {
		t.Fatalf("a first name of %d characters is the longest that fits", longest)
	}
}
