package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qelos-io/integrator-go/internal/testenv"
	"github.com/qelos-io/integrator-go/qelostest"
)

// chromium finds Debian's Chromium, or QELOS_TEST_CHROMIUM.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("QELOS_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, "chromium not found; run the README's test command (scripts/test.sh), which installs it, or set QELOS_TEST_CHROMIUM")
	return ""
}

// browser starts a headless Chromium with a fresh profile, as the probe
// that validated this machine does.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// TestBrowser drives the quickstart page in a real browser: sign in, see
// the user, outlive the access token, switch workspace, use and revoke an
// API token, sign out, sign up, and be refused a duplicate sign-up.
func TestBrowser(t *testing.T) {
	const ttl = 3 * time.Second
	url, demo := startQuickstart(t, ttl.String())
	ctx := browser(t)
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.TextContent(css(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	run("open the page", chromedp.Navigate(url+"/"), chromedp.WaitVisible(css("#signin")))
	run("sign in",
		chromedp.SendKeys(css(`#signin input[name=username]`), qelostest.AdminEmail),
		chromedp.SendKeys(css(`#signin input[name=password]`), qelostest.AdminPassword),
		chromedp.Click(css(`#signin button[type=submit]`)),
		chromedp.WaitVisible(css("#user-name")))
	if got := text("#user-name"); got != "Ada Admin" {
		t.Fatalf("signed in as %q", got)
	}
	if got := text("#workspace"); !strings.Contains(got, "Acme Team") {
		t.Fatalf("workspace %q", got)
	}

	jsCookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(jsCookies, "q_access_token") || strings.Contains(jsCookies, "q_refresh_token") {
		t.Fatalf("the session cookies are visible to scripts: %q", jsCookies)
	}

	before := demo.Calls(qelostest.EndpointRefresh)
	time.Sleep(ttl + 500*time.Millisecond) // past the access token's lifetime
	run("reload after expiry", chromedp.Reload(), chromedp.WaitVisible(css("#user-name")))
	if got := text("#user-name"); got != "Ada Admin" {
		t.Fatalf("after the access token expired the page shows %q", got)
	}
	if after := demo.Calls(qelostest.EndpointRefresh); after != before+1 {
		t.Fatalf("refresh calls went from %d to %d, want +1", before, after)
	}

	run("switch workspace",
		chromedp.SetValue(css("#workspace-select"), qelostest.BetaWorkspaceID),
		chromedp.Click(css("#switch button[type=submit]")),
	)
	waitText(t, ctx, "#workspace", "Beta Lab") // the page reloads after the switch

	run("create an API token", chromedp.Click(css("#create-token")), chromedp.WaitVisible(css("#token-box")))
	token := text("#new-token")
	if !strings.HasPrefix(token, "ql_") {
		t.Fatalf("token %q", token)
	}
	if status, email := useAPIToken(t, url, token); status != 200 || email != qelostest.AdminEmail {
		t.Fatalf("using the token: %d %q", status, email)
	}
	run("revoke it", chromedp.Click(css("#revoke-token")), chromedp.WaitNotVisible(css("#token-box")))
	if status, _ := useAPIToken(t, url, token); status != 401 {
		t.Fatalf("the revoked token answered %d", status)
	}

	run("sign out", chromedp.Click(css("#signout button")), chromedp.WaitVisible(css("#signin")))

	signUp := func(email string) {
		run("sign up as "+email,
			chromedp.SendKeys(css(`#signup input[name=firstName]`), "Nia"),
			chromedp.SendKeys(css(`#signup input[name=lastName]`), "New"),
			chromedp.SendKeys(css(`#signup input[name=username]`), email),
			chromedp.SendKeys(css(`#signup input[name=password]`), "Str0ng-Pass"),
			chromedp.Click(css(`#signup button[type=submit]`)))
	}
	signUp("nia@example.com")
	run("see the new account", chromedp.WaitVisible(css("#user-name")))
	if got := text("#user-name"); got != "Nia New" {
		t.Fatalf("signed up as %q", got)
	}
	run("sign out again", chromedp.Click(css("#signout button")), chromedp.WaitVisible(css("#signup")))
	signUp("nia@example.com")
	run("see the refusal", chromedp.Poll[chromedp.Void](`document.getElementById("signup-error").textContent.length > 0`))
	if got := text("#signup-error"); !strings.Contains(got, "already has an account") {
		t.Fatalf("duplicate sign-up says %q", got)
	}
}

// waitText waits until the element's text contains want, across page loads.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		step, cancel := context.WithTimeout(ctx, time.Second)
		got, _ = chromedp.Run(step, chromedp.TextContent(css(sel)))
		cancel()
		if strings.Contains(got, want) {
			return
		}
	}
	t.Fatalf("%s says %q, want it to contain %q", sel, got, want)
}

// css selects the first element matching a CSS selector.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// useAPIToken calls the quickstart as a script would, with x-api-key.
func useAPIToken(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/private", nil)
	req.Header.Set("X-Api-Key", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		User *struct{ Email string } `json:"user"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if body.User == nil {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, body.User.Email
}
