package qelostest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests of this file assert the real Qelos answers that qelostest used
// to get wrong (the fidelity review's items 1–12, and the non-atomic refresh).

// signUpBody is a valid sign-up body for username.
func signUpBody(username, email string) map[string]any {
	return map[string]any{"username": username, "email": email, "password": "New-Pass-123", "firstName": "Nia", "lastName": "New"}
}

// decode unmarshals a JSON answer.
func decode(t *testing.T, r response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("%d %q: %v", r.status, r.body, err)
	}
	return m
}

// Item 1: Qelos stores usernames lower-cased at sign-up and matches them
// exactly at sign-in, so a username in another case is refused.
func TestSignInUsernameIsCaseSensitive(t *testing.T) {
	s := start(t, Options{})
	call(t, s, "POST", "/api/signin", nil, map[string]any{"username": "ADMIN@EXAMPLE.COM", "password": AdminPassword}).
		want(t, 401, `{"errors":{"general":{"message":"Invalid username or password"}}}`)

	r := call(t, s, "POST", "/api/signup", nil, signUpBody("Mixed.Case@Example.com", "Mixed.Case@Example.com"))
	if p := decode(t, r)["payload"].(map[string]any); p["user"].(map[string]any)["username"] != "mixed.case@example.com" {
		t.Fatalf("sign-up stored %s", r.body)
	}
	call(t, s, "POST", "/api/signin", nil, map[string]any{"username": "Mixed.Case@Example.com", "password": "New-Pass-123"}).
		want(t, 401, `{"errors":{"general":{"message":"Invalid username or password"}}}`)
	if r := call(t, s, "POST", "/api/signin", nil, map[string]any{"username": "mixed.case@example.com", "password": "New-Pass-123"}); r.status != 200 {
		t.Fatalf("lower-case sign-in: %d %s", r.status, r.body)
	}

	// Seeded usernames are stored lower-cased too, as Qelos stores them.
	seeded := start(t, Options{Users: []User{{Username: " Bob@Example.com", Password: "pw-12345678"}}})
	if r := call(t, seeded, "POST", "/api/signin", nil, map[string]any{"username": "bob@example.com", "password": "pw-12345678"}); r.status != 200 {
		t.Fatalf("seeded user, lower case: %d %s", r.status, r.body)
	}
	call(t, seeded, "POST", "/api/signin", nil, map[string]any{"username": "Bob@Example.com", "password": "pw-12345678"}).
		want(t, 401, `{"errors":{"general":{"message":"Invalid username or password"}}}`)
}

// Item 2: sign-in with only "email" fails before Qelos looks at it.
func TestSignInWithOnlyEmailIsRefused(t *testing.T) {
	s := start(t, Options{})
	call(t, s, "POST", "/api/signin", nil, map[string]any{"email": AdminEmail, "password": AdminPassword}).
		want(t, 401, `{"errors":{"password":"password is incorrect"}}`)
}

// Item 3: sign-up without a username answers 200 {"payload":{}} and
// creates nobody.
func TestSignUpWithoutUsernameCreatesNoUser(t *testing.T) {
	s := start(t, Options{})
	body := signUpBody("", "nobody@example.com")
	delete(body, "username")
	r := call(t, s, "POST", "/api/signup", nil, body)
	r.want(t, 200, `{"payload":{}}`)
	if r.header.Get("Set-Cookie") != "" {
		t.Error("a cookie was set")
	}
	call(t, s, "POST", "/api/signin", nil, map[string]any{"username": "nobody@example.com", "password": "New-Pass-123"}).
		want(t, 401, `{"errors":{"general":{"message":"Invalid username or password"}}}`)
}

// Item 4: "Authorization: Bearer" without a token is a TypeError on Qelos,
// answered 500 with Express's HTML page, on every route that reads the
// caller; an empty token between two spaces is no credential at all.
func TestMeBearerWithoutTokenIs500(t *testing.T) {
	s := start(t, Options{})
	for _, route := range []struct{ method, path string }{
		{"GET", "/api/me"}, {"GET", "/api/workspaces"}, {"POST", "/api/logout"}, {"GET", "/api/me/api-tokens"},
	} {
		r := call(t, s, route.method, route.path, header("Authorization", "Bearer"), nil)
		r.want(t, 500, typeErrorPage)
		if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", route.method, route.path, ct)
		}
	}
	// "Bearer  x" splits into "Bearer", "", "x": an empty token, no credential.
	call(t, s, "GET", "/api/me", header("Authorization", "Bearer  x"), nil).want(t, 401, bodyNotLoggedIn)
}

// Item 5: the Qelos gateway does not route /api/cookie/refresh: 504 with a
// text body. The auth service's own answer stays available behind
// Options.RouteCookieRefresh.
func TestCookieRefreshThroughGatewayIs504(t *testing.T) {
	s := start(t, Options{})
	tok, _ := s.IssueCookie(AdminEmail, "")
	r := call(t, s, "POST", "/api/cookie/refresh", cookie(tok), nil)
	r.want(t, 504, "Error occurred while trying to proxy: "+strings.TrimPrefix(s.URL, "http://")+"/api/cookie/refresh")
	if ct := r.header.Get("Content-Type"); ct != "" {
		t.Errorf("Content-Type %q, want none", ct)
	}
	if r.header.Get("Set-Cookie") != "" {
		t.Error("a cookie was set")
	}
	if n := s.Calls(EndpointCookieRefresh); n != 1 {
		t.Errorf("Calls = %d", n)
	}

	direct := start(t, Options{RouteCookieRefresh: true})
	tok, _ = direct.IssueCookie(AdminEmail, "")
	if r := call(t, direct, "POST", "/api/cookie/refresh", cookie(tok), nil); r.status != 200 || cookieValue(t, r) == "" {
		t.Fatalf("direct: %d %s", r.status, r.body)
	}
}

// Item 6: sign-up derives the stored email from the username (the body's
// email is only validated): "<username>@null" when the username has no
// "@", and the username itself when it has one; sign-in answers it back.
func TestSignUpEmailDerivedFromUsername(t *testing.T) {
	s := start(t, Options{})
	tests := []struct{ username, email, want string }{
		{"nia", "nia@example.com", "nia@null"},
		{"other@example.com", "nia2@example.com", "other@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.username, func(t *testing.T) {
			r := call(t, s, "POST", "/api/signup", nil, signUpBody(tt.username, tt.email))
			if got := decode(t, r)["payload"].(map[string]any)["user"].(map[string]any)["email"]; got != tt.want {
				t.Fatalf("sign-up email = %v, want %s", got, tt.want)
			}
			_, p := signIn(t, s, tt.username, "New-Pass-123", "")
			if got := p["user"].(map[string]any)["email"]; got != tt.want {
				t.Fatalf("sign-in email = %v, want %s", got, tt.want)
			}
			// The body's email names nobody.
			call(t, s, "POST", "/api/signin", nil, map[string]any{"username": tt.email, "password": "New-Pass-123"}).
				want(t, 401, `{"errors":{"general":{"message":"Invalid username or password"}}}`)
		})
	}
}

// Item 7: isPrivilegedUser of GET /api/workspaces says whether the caller
// is an admin of that workspace, not whether the caller's tenant role is.
func TestWorkspacesIsPrivilegedUserFollowsMemberRoles(t *testing.T) {
	s := start(t, Options{})
	user, _ := s.IssueAccessToken(UserEmail, "", time.Hour)
	r := call(t, s, "POST", "/api/workspaces", bearer(user), map[string]any{"name": "Uma's Team"})
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r = call(t, s, "GET", "/api/workspaces", bearer(user), nil)
	if !regexp.MustCompile(`^\[\{"_id":"[0-9a-f]{24}","name":"Uma's Team","tenant":"0","members":\[\{"_id":"[0-9a-f]{24}","user":"6b08ed31a15f3cecd283657c","roles":\["admin","user"\],"created":"[^"]+"\}\],"isPrivilegedUser":true\}\]$`).MatchString(r.body) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// The tenant admin is only a "user" member of Beta Lab.
	admin, _ := s.IssueAccessToken(AdminEmail, "", time.Hour)
	var list []map[string]any
	_ = json.Unmarshal([]byte(call(t, s, "GET", "/api/workspaces", bearer(admin), nil).body), &list)
	for _, ws := range list {
		if want := ws["_id"] == AcmeWorkspaceID; ws["isPrivilegedUser"] != want {
			t.Errorf("%v: isPrivilegedUser = %v, want %v", ws["name"], ws["isPrivilegedUser"], want)
		}
	}
}

// Item 8: activation answers the workspace with the caller's membership for
// a member who is not a tenant admin; an unknown or non-member id answers
// 404 with "from".
func TestActivateAnswerAndNotFound(t *testing.T) {
	s := start(t, Options{})
	r := call(t, s, "POST", "/api/signin", nil, map[string]any{"username": UserEmail, "password": UserPassword})
	sess := cookieValue(t, r)
	created := decode(t, call(t, s, "POST", "/api/workspaces", cookie(sess), map[string]any{"name": "Uma Team"}))
	wsID := created["_id"].(string)
	memberID := created["members"].([]any)[0].(map[string]any)["_id"].(string)

	r = call(t, s, "POST", "/api/workspaces/"+wsID+"/activate", cookie(sess), nil)
	r.want(t, 200, `{"_id":"`+wsID+`","name":"Uma Team","members":[{"_id":"`+memberID+`","user":"6b08ed31a15f3cecd283657c","roles":["admin","user"],"created":"`+created["members"].([]any)[0].(map[string]any)["created"].(string)+`"}],"labels":[]}`)
	if c := claims(t, cookieValue(t, r)); c["workspace"].(map[string]any)["roles"].([]any)[0] != "admin" {
		t.Errorf("activation claim = %v", c["workspace"])
	}

	const notFound = `{"message":"workspace not found","from":"get-workspace"}`
	call(t, s, "POST", "/api/workspaces/000000000000000000000000/activate", cookie(sess), nil).want(t, 404, notFound)
	call(t, s, "POST", "/api/workspaces/"+AcmeWorkspaceID+"/activate", cookie(sess), nil).want(t, 404, notFound)
}

// Item 9: sign-up validates email, firstName and password; an unknown
// authType fails at once with FORM_SUBMISSION_FAILED and creates nobody.
func TestSignUpEmptyAndBogusAuthType(t *testing.T) {
	s := start(t, Options{})
	call(t, s, "POST", "/api/signup", nil, map[string]any{}).
		want(t, 200, `{"errors":{"email":{"code":"INVALID_EMAIL"},"firstName":{"code":"INVALID_NAME"},"password":{"code":"INVALID_PASSWORD"}}}`)

	body := signUpBody("bogus@example.com", "bogus@example.com")
	body["authType"] = "bogus"
	call(t, s, "POST", "/api/signup", nil, body) // the test client gives up after 5 s.want(t, 200, `{"errors":{"":"FORM_SUBMISSION_FAILED"}}`)
	delete(body, "authType")
	if r := call(t, s, "POST", "/api/signup", nil, body); r.status != 200 || !contains(r.body, `"payload"`) {
		t.Fatalf("the bogus sign-up created the user: %d %s", r.status, r.body)
	}
}

// Item 10: deleting an API token by an id that is no ObjectId is a 500 on
// Qelos; each use through the gateway counts twice, and a refused scoped key
// is counted too.
func TestDeleteAPITokenBadIDAndUsageCounting(t *testing.T) {
	s := start(t, Options{})
	sess, _ := s.IssueCookie(AdminEmail, "")
	call(t, s, "DELETE", "/api/me/api-tokens/not-an-id", cookie(sess), nil).want(t, 500, `{"message":"Failed to delete API token"}`)
	call(t, s, "DELETE", "/api/me/api-tokens/000000000000000000000000", cookie(sess), nil).want(t, 404, `{"message":"Token not found"}`)

	key, _ := s.IssueAPIToken(AdminEmail, "", time.Now().Add(time.Hour))
	refused, _ := s.IssueAPIToken(UserEmail, AcmeWorkspaceID, time.Now().Add(time.Hour)) // the user is no member
	call(t, s, "GET", "/api/me", header("x-api-key", key), nil).want(t, 200, meAdminPlain)
	call(t, s, "GET", "/api/me", header("x-api-key", refused), nil).want(t, 401, bodyBadKey)

	counts := func(email string) []any {
		tok, _ := s.IssueAccessToken(email, "", time.Hour)
		var list []map[string]any
		_ = json.Unmarshal([]byte(call(t, s, "GET", "/api/me/api-tokens", bearer(tok), nil).body), &list)
		var out []any
		for _, e := range list {
			out = append(out, e["usageCount"])
		}
		return out
	}
	if got := counts(AdminEmail); len(got) != 1 || got[0] != 2.0 {
		t.Errorf("one use counted %v, want [2]", got)
	}
	if got := counts(UserEmail); len(got) != 1 || got[0] != 2.0 {
		t.Errorf("one refused use counted %v, want [2]", got)
	}
}

// Item 11: POST /api/workspaces creates a workspace with the caller as admin
// member, in the caller's tenant.
func TestCreateWorkspace(t *testing.T) {
	s := start(t, Options{})
	user, _ := s.IssueAccessToken(UserEmail, "", time.Hour)
	r := call(t, s, "POST", "/api/workspaces", bearer(user), map[string]any{"name": "New WS", "labels": []string{"pro"}, "invites": []any{map[string]any{"email": "x@example.com"}}})
	re := regexp.MustCompile(`^\{"name":"New WS","tenant":"0","members":\[\{"user":"6b08ed31a15f3cecd283657c","roles":\["admin","user"\],"_id":"[0-9a-f]{24}","created":"[^"]+"\}\],"labels":\["pro"\],"invites":\[\{"email":"x@example.com","roles":\["member"\],"_id":"[0-9a-f]{24}","created":"[^"]+"\}\],"_id":"[0-9a-f]{24}","created":"[^"]+","__v":0\}$`)
	if r.status != 200 || !re.MatchString(r.body) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	tests := []struct {
		name   string
		h      http.Header
		body   any
		status int
		want   string
	}{
		{"labels not an array", bearer(user), map[string]any{"name": "X", "labels": "pro"}, 400, `{"message":"please provide all mandatory properties (missing \"labels\")."}`},
		{"no name", bearer(user), map[string]any{}, 500, `{"message":"failed to create workspace"}`},
		{"anonymous", nil, map[string]any{"name": "X"}, 401, bodyNotLoggedIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call(t, s, "POST", "/api/workspaces", tt.h, tt.body).want(t, tt.status, tt.want)
		})
	}
	// The new workspace is the user's at the next sign-in.
	_, p := signIn(t, s, UserEmail, UserPassword, "oauth")
	if ws, _ := p["workspace"].(map[string]any); ws == nil || ws["name"] != "New WS" {
		t.Fatalf("sign-in workspace = %v", p["workspace"])
	}
}

// Item 11: PUT /api/workspaces/{id} by workspace admins and tenant admins.
func TestUpdateWorkspace(t *testing.T) {
	s := start(t, Options{})
	user, _ := s.IssueAccessToken(UserEmail, "", time.Hour)
	admin, _ := s.IssueAccessToken(AdminEmail, "", time.Hour)
	created := decode(t, call(t, s, "POST", "/api/workspaces", bearer(user), map[string]any{"name": "Mine"}))
	id := created["_id"].(string)

	r := call(t, s, "PUT", "/api/workspaces/"+id, bearer(user), map[string]any{"name": "Renamed", "labels": []string{"ignored"}})
	if r.status != 200 || !regexp.MustCompile(`^\{"_id":"`+id+`","name":"Renamed","members":\[\{"_id":"[0-9a-f]{24}","user":"6b08ed31a15f3cecd283657c","roles":\["admin","user"\],"created":"[^"]+"\}\],"labels":\[\]\}$`).MatchString(r.body) {
		t.Fatalf("member admin: %d %s", r.status, r.body)
	}
	r = call(t, s, "PUT", "/api/workspaces/"+AcmeWorkspaceID, bearer(admin), map[string]any{"labels": []string{"a"}})
	r.want(t, 200, `{"_id":"6b08ed31a15f3cecd2836587","name":"Acme Team","labels":["a"]}`)

	// The admin is a plain member of Beta Lab but a tenant admin: allowed.
	call(t, s, "PUT", "/api/workspaces/"+AcmeWorkspaceID, bearer(user), map[string]any{"name": "x"}).want(t, 404, `{"message":"workspace not found","from":"get-workspace"}`)
	call(t, s, "PUT", "/api/workspaces/"+AcmeWorkspaceID, bearer(admin), map[string]any{"members": []any{}}).want(t, 400, `{"message":"Members cannot be empty."}`)
	call(t, s, "PUT", "/api/workspaces/"+AcmeWorkspaceID, bearer(admin), map[string]any{"members": "x"}).want(t, 400, `{"message":"Invalid data. Must be an array."}`)
	call(t, s, "PUT", "/api/workspaces/not-an-id", bearer(admin), map[string]any{}).want(t, 500, `{"message":"failed to load workspace data"}`)

	// A plain member may not update.
	sMember := start(t, Options{
		Users:      []User{{ID: "6b08ed31a15f3cecd2830001", Email: "m@example.com", Password: "pw-123456"}},
		Workspaces: []Workspace{{ID: "6b08ed31a15f3cecd2830002", Name: "T", Members: []Member{{UserID: "6b08ed31a15f3cecd2830001"}}}},
	})
	m, _ := sMember.IssueAccessToken("m@example.com", "", time.Hour)
	call(t, sMember, "PUT", "/api/workspaces/6b08ed31a15f3cecd2830002", bearer(m), map[string]any{"name": "x"}).want(t, 403, `{"message":"not authorized"}`)
	call(t, sMember, "GET", "/api/workspaces/6b08ed31a15f3cecd2830002/members", bearer(m), nil).want(t, 403, `{"message":"not authorized"}`)
}

// Item 11: GET /api/workspaces/{id}/members for workspace admins.
func TestWorkspaceMembers(t *testing.T) {
	s := start(t, Options{})
	admin, _ := s.IssueAccessToken(AdminEmail, "", time.Hour)
	r := call(t, s, "GET", "/api/workspaces/"+AcmeWorkspaceID+"/members", bearer(admin), nil)
	if !regexp.MustCompile(`^\[\{"_id":"[0-9a-f]{24}","email":"admin@example.com","firstName":"Ada","lastName":"Admin","user":"6b08ed3053ba253bfa2e98e9","roles":\["admin","user"\],"created":"[^"]+"\}\]$`).MatchString(r.body) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	user, _ := s.IssueAccessToken(UserEmail, "", time.Hour)
	call(t, s, "GET", "/api/workspaces/"+AcmeWorkspaceID+"/members", bearer(user), nil).want(t, 404, `{"message":"workspace not found","from":"get-workspace"}`)
}

// Item 11: POST /api/me updates the caller's profile.
func TestUpdateMe(t *testing.T) {
	s := start(t, Options{})
	tok, _ := s.IssueAccessToken(UserEmail, "", time.Hour)
	r := call(t, s, "POST", "/api/me", bearer(tok), map[string]any{"firstName": "Umberto", "fullName": "Umberto User", "username": "echoed", "metadata": map[string]any{"x": 1}})
	r.want(t, 200, `{"_id":"6b08ed31a15f3cecd283657c","tenant":"0","username":"echoed","email":"user@example.com","name":"Umberto User","firstName":"Umberto","lastName":"User","fullName":"Umberto User","roles":["user"],"metadata":{}}`)
	call(t, s, "GET", "/api/me", bearer(tok), nil).
		want(t, 200, `{"_id":"6b08ed31a15f3cecd283657c","tenant":"0","username":"user@example.com","email":"user@example.com","name":"Umberto User","firstName":"Umberto","lastName":"User","fullName":"Umberto User","roles":["user"],"metadata":{}}`)
	// A new password works; the username did not change.
	call(t, s, "POST", "/api/me", bearer(tok), map[string]any{"password": "Changed-123"})
	signIn(t, s, UserEmail, "Changed-123", "oauth")
	call(t, s, "POST", "/api/me", nil, map[string]any{"firstName": "X"}).want(t, 401, bodyNotLoggedIn)
}

// Item 11: GET /api/users, for tenant admins only (transcript 45).
func TestUsersList(t *testing.T) {
	s := start(t, Options{})
	admin, _ := s.IssueAccessToken(AdminEmail, "", time.Hour)
	user, _ := s.IssueAccessToken(UserEmail, "", time.Hour)
	call(t, s, "GET", "/api/users", bearer(user), nil).want(t, 401, `{"message":"you are not privileged."}`)
	call(t, s, "GET", "/api/users", nil, nil).want(t, 401, bodyNotLoggedIn)
	call(t, s, "GET", "/api/users?username=uma", bearer(admin), nil).want(t, 200, `[]`)
	call(t, s, "GET", "/api/users?username=USER@", bearer(admin), nil).
		want(t, 200, `[{"_id":"6b08ed31a15f3cecd283657c","username":"user@example.com","emailVerified":false,"socialLogins":[],"fullName":"Uma User","firstName":"Uma","lastName":"User","roles":["user"]}]`)
	tests := []struct {
		query string
		n     int
	}{{"", 2}, {"?roles=admin", 1}, {"?roles=admin,user", 2}, {"?_id=" + AdminID, 1}, {"?_id=bad", 0}, {"?users=" + UserID + ",nope", 1}, {"?users=nope", 0}}
	for _, tt := range tests {
		var list []any
		r := call(t, s, "GET", "/api/users"+tt.query, bearer(admin), nil)
		if err := json.Unmarshal([]byte(r.body), &list); err != nil || len(list) != tt.n {
			t.Errorf("%q: %d %s, want %d users", tt.query, r.status, r.body, tt.n)
		}
	}
}

// Item 11: Express matches paths in any case and with a trailing slash, and
// answers OPTIONS with the route's methods.
func TestOptionsAndPathVariants(t *testing.T) {
	s := start(t, Options{})
	tok, _ := s.IssueAccessToken(AdminEmail, AcmeWorkspaceID, time.Hour)
	for _, p := range []string{"/api/me/", "/API/ME", "/Api/Me/"} {
		call(t, s, "GET", p, bearer(tok), nil).want(t, 200, meAdminAcme)
	}
	if r := call(t, s, "GET", "/API/WORKSPACES/"+AcmeWorkspaceID+"/", bearer(tok), nil); r.status != 200 {
		t.Errorf("upper-case workspace path: %d %s", r.status, r.body)
	}
	if r := call(t, s, "POST", "/api/SignIn/", nil, map[string]any{"username": AdminEmail, "password": AdminPassword}); r.status != 200 {
		t.Errorf("mixed-case sign-in path: %d", r.status)
	}
	tests := []struct{ path, allow string }{
		{"/api/me", "GET,HEAD,POST"},
		{"/api/signin", "POST"},
		{"/api/workspaces", "GET,HEAD,POST"},
		{"/api/workspaces/" + AcmeWorkspaceID, "PUT,DELETE,GET,HEAD"},
		{"/api/workspaces/" + AcmeWorkspaceID + "/activate/", "POST"},
		{"/api/me/api-tokens", "GET,HEAD,POST"},
		{"/API/USERS", "GET,HEAD,POST"},
	}
	for _, tt := range tests {
		r := call(t, s, "OPTIONS", tt.path, header("Origin", "http://app.example.com", "Access-Control-Request-Method", "POST"), nil)
		r.want(t, 200, tt.allow)
		if r.header.Get("Allow") != tt.allow || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("OPTIONS %s: headers %v", tt.path, r.header)
		}
	}
	call(t, s, "OPTIONS", "/api/nope", nil, nil).want(t, 404, strings.Replace(typeErrorPage, "TypeError: Cannot read properties of undefined (reading &#39;trim&#39;)", "Cannot OPTIONS /api/nope", 1))
	if r := call(t, s, "OPTIONS", "/api/cookie/refresh", nil, nil); r.status != 504 {
		t.Errorf("OPTIONS cookie refresh: %d", r.status)
	}
}

// Item 11: several tenants, chosen by the "tenant" header, each with its
// own users, workspaces, API tokens and cookie name.
func TestTenantsByHeader(t *testing.T) {
	s := start(t, Options{Tenants: []Tenant{{
		ID:         "acme-corp-2",
		Users:      []User{{ID: "6b08ed31a15f3cecd2830010", Email: AdminEmail, Password: "Other-Pass-1", FirstName: "Otto", Roles: []string{"admin"}}},
		Workspaces: []Workspace{{ID: "6b08ed31a15f3cecd2830011", Name: "Other", Members: []Member{{UserID: "6b08ed31a15f3cecd2830010", Roles: []string{"admin"}}}}},
	}}})
	other := header("Tenant", "acme-corp-2")

	// Same username, another tenant, another password and user.
	call(t, s, "POST", "/api/signin", other, map[string]any{"username": AdminEmail, "password": AdminPassword}).
		want(t, 401, `{"errors":{"general":{"message":"Invalid username or password"}}}`)
	r := call(t, s, "POST", "/api/signin", other, map[string]any{"username": AdminEmail, "password": "Other-Pass-1"})
	if sc := r.header.Get("Set-Cookie"); r.status != 200 || !strings.HasPrefix(sc, "qlt_acme-cor=") {
		t.Fatalf("%d %s / %s", r.status, r.body, sc)
	}
	tok := strings.TrimPrefix(strings.SplitN(r.header.Get("Set-Cookie"), ";", 2)[0], "qlt_acme-cor=")
	if c := claims(t, tok); c["tenant"] != "acme-corp-2" || c["sub"] != "6b08ed31a15f3cecd2830010" {
		t.Fatalf("claims = %v", c)
	}
	h := header("Tenant", "acme-corp-2", "Cookie", "qlt_acme-cor="+tok)
	me := decode(t, call(t, s, "GET", "/api/me", h, nil))
	if me["tenant"] != "acme-corp-2" || me["firstName"] != "Otto" {
		t.Fatalf("me = %v", me)
	}
	// The default tenant's cookie name does not carry this tenant's session.
	call(t, s, "GET", "/api/me", header("Tenant", "acme-corp-2", "Cookie", "qlt_0="+tok), nil).want(t, 401, bodyNotLoggedIn)
	if r := call(t, s, "GET", "/api/workspaces", h, nil); !contains(r.body, `"name":"Other","tenant":"acme-corp-2"`) || contains(r.body, "Acme") {
		t.Fatalf("workspaces = %s", r.body)
	}

	// A tenant nobody configured starts empty; sign-up fills it.
	fresh := header("Tenant", "brand-new")
	call(t, s, "POST", "/api/signin", fresh, map[string]any{"username": AdminEmail, "password": AdminPassword}).
		want(t, 401, `{"errors":{"general":{"message":"Invalid username or password"}}}`)
	body := signUpBody(AdminEmail, AdminEmail)
	body["authType"] = "oauth"
	r = call(t, s, "POST", "/api/signup", fresh, body)
	p := decode(t, r)["payload"].(map[string]any)
	access, refresh := p["token"].(string), p["refreshToken"].(string)
	if c := claims(t, access); c["tenant"] != "brand-new" {
		t.Fatalf("sign-up claims = %v", c)
	}
	// Its tokens work whatever the header says (Qelos trusts the claim).
	if me := decode(t, call(t, s, "GET", "/api/me", bearer(access), nil)); me["tenant"] != "brand-new" {
		t.Fatalf("me = %v", me)
	}
	if r := call(t, s, "POST", "/api/token/refresh", bearer(refresh), nil); r.status != 200 {
		t.Fatalf("refresh: %d", r.status)
	}
	// API keys belong to the tenant the request names.
	key := decode(t, call(t, s, "POST", "/api/me/api-tokens", bearer(access), map[string]any{"nickname": "k", "expiresAt": "2099-01-01"}))["token"].(string)
	call(t, s, "GET", "/api/me", header("x-api-key", key), nil).want(t, 401, bodyBadKey)
	if r := call(t, s, "GET", "/api/me", header("x-api-key", key, "Tenant", "brand-new"), nil); r.status != 200 {
		t.Fatalf("key in its tenant: %d %s", r.status, r.body)
	}
	// The default tenant is untouched.
	signIn(t, s, AdminEmail, AdminPassword, "")
}

// Item 12: a malformed JSON body gets 400 with a JSON body here, where
// Qelos answers an HTML stack trace (a documented difference).
func TestMalformedJSONStaysJSON(t *testing.T) {
	s := start(t, Options{})
	for _, p := range []string{"/api/signin", "/api/signup", "/api/workspaces", "/api/me"} {
		tok, _ := s.IssueAccessToken(AdminEmail, "", time.Hour)
		r := call(t, s, "POST", p, bearer(tok), "{not json")
		r.want(t, 400, `{"message":"malformed JSON body"}`)
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
	}
}

// By default a refresh token is spent exactly once, however many spend it
// at the same time.
func TestRefreshIsAtomicByDefault(t *testing.T) {
	s := start(t, Options{})
	if ok := concurrentRefreshes(t, s, 8); ok != 1 {
		t.Fatalf("%d of 8 concurrent spends succeeded, want 1", ok)
	}
}

// Options.RefreshRace reproduces Qelos's non-atomic refresh: concurrent
// spends of one refresh token all succeed, forking the session; only the
// last new refresh token stays on record, and every new access token works.
func TestRefreshRaceForks(t *testing.T) {
	s := start(t, Options{RefreshRace: 2 * time.Second})
	_, rt, _ := s.IssuePair(AdminEmail, AcmeWorkspaceID)
	const n = 8
	type answer struct{ access, refresh string }
	answers := make(chan answer, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := postRefresh(t, s, rt)
			if res == nil {
				return
			}
			defer res.Body.Close()
			var v struct {
				Payload struct{ Token, RefreshToken string }
			}
			if res.StatusCode == 200 && json.NewDecoder(res.Body).Decode(&v) == nil {
				answers <- answer{v.Payload.Token, v.Payload.RefreshToken}
			}
		}()
	}
	wg.Wait()
	close(answers)
	var got []answer
	for a := range answers {
		got = append(got, a)
	}
	if len(got) < 2 {
		t.Fatalf("%d of %d concurrent spends succeeded, want a fork (more than 1)", len(got), n)
	}
	for i, a := range got {
		if r := call(t, s, "GET", "/api/me", bearer(a.access), nil); r.status != 200 {
			t.Errorf("fork %d: access token refused: %d", i, r.status)
		}
	}
	live := 0
	for _, a := range got {
		if r := call(t, s, "POST", "/api/token/refresh", bearer(a.refresh), nil); r.status == 200 {
			live++
		}
	}
	if live != 1 {
		t.Errorf("%d of the forks' refresh tokens stayed on record, want 1 (the last save wins)", live)
	}
	// After the window, the spent token is refused again.
	time.Sleep(2100 * time.Millisecond)
	call(t, s, "POST", "/api/token/refresh", bearer(rt), nil).want(t, 401, "")
}

// concurrentRefreshes spends one fresh refresh token n times at once and
// returns how many spends succeeded.
func concurrentRefreshes(t *testing.T, s *Server, n int) int {
	t.Helper()
	_, rt, err := s.IssuePair(AdminEmail, "")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := postRefresh(t, s, rt)
			if res == nil {
				return
			}
			res.Body.Close()
			if res.StatusCode == 200 {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ok
}
