package qelostest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The golden exchanges (testdata/golden/*.json) are requests and the
// answers a real Qelos stack gave to them, written from the captured
// transcripts (shared reference qelos-real-transcripts.md) and from the
// real answers of the fidelity review (a 150-request comparison with a
// real Qelos stack: h-review-answers.json). Each file is a sequence
// replayed in order against a fresh server; an exchange may use what an
// earlier one returned through {{id.cookie}} (the session cookie it set),
// {{id.a.b.0}} (a value of its JSON body) and {{host}} (the server's
// host:port).
//
// An answer is compared on its status, the listed headers, and its body:
// a JSON body must have the same shape as the real one (the same keys at
// every level and values of the same JSON types; arrays of the same
// length), and the values at the listed paths must be equal ("*" means the
// whole body). A text body is compared whole or by substring. Claims of
// JWTs in the body are compared by name and order, and by value where
// listed.
//
// An exchange marked knownDifference is replayed and checked on its status
// only (qelostestStatus, when this server's status differs too); its note
// must appear in the package doc (doc.go), which lists every known
// difference.

type goldenFile struct {
	Description string            `json:"description"`
	Source      string            `json:"source"`
	Options     goldenOptions     `json:"options"`
	Exchanges   []goldenExchange  `json:"exchanges"`
	Notes       map[string]string `json:"notes"`
}

type goldenOptions struct {
	AccessTTL          string      `json:"accessTTL"`
	CookieRotateAfter  string      `json:"cookieRotateAfter"`
	RouteCookieRefresh bool        `json:"routeCookieRefresh"`
	Workspaces         []Workspace `json:"workspaces"`
	Tenants            []Tenant    `json:"tenants"`
}

type goldenExchange struct {
	ID              string         `json:"id"`
	Title           string         `json:"title"`
	Advance         string         `json:"advance"` // clock advance before the request
	Request         goldenRequest  `json:"request"`
	Response        goldenResponse `json:"response"`
	KnownDifference string         `json:"knownDifference"`
	// QelostestStatus is, for a known difference, the status this server
	// answers instead of Response.Status.
	QelostestStatus int `json:"qelostestStatus"`
}

type goldenRequest struct {
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	Headers  map[string]string `json:"headers"`
	Body     json.RawMessage   `json:"body"`
	BodyText *string           `json:"bodyText"`
}

type goldenResponse struct {
	Status       int                    `json:"status"`
	Headers      map[string]string      `json:"headers"`      // exact values
	HeadersHave  map[string][]string    `json:"headersHave"`  // substrings
	NoHeaders    []string               `json:"noHeaders"`    // absent
	Body         json.RawMessage        `json:"body"`         // the real JSON body
	Values       []string               `json:"values"`       // paths whose values must be equal; "*" for all
	BodyText     *string                `json:"bodyText"`     // exact text body
	BodyContains []string               `json:"bodyContains"` // substrings of a text body
	Claims       map[string]claimsCheck `json:"claims"`       // JWTs at these body paths
	CookieClaims *claimsCheck           `json:"cookieClaims"` // the JWT of the session cookie set
	Empty        bool                   `json:"empty"`        // an empty body
}

type claimsCheck struct {
	Keys   []string       `json:"keys"`   // claim names in order
	Values map[string]any `json:"values"` // claims that must be equal
	TTL    *float64       `json:"ttl"`    // exp - iat
}

var templateRE = regexp.MustCompile(`\{\{([^}]+)\}\}`)

// goldenRun is the state of one file's replay.
type goldenRun struct {
	t       *testing.T
	s       *Server
	clk     *Clock
	cookies map[string]string // exchange id → session cookie it set
	bodies  map[string]any    // exchange id → decoded JSON body
}

func (g *goldenRun) expand(in string) string {
	return templateRE.ReplaceAllStringFunc(in, func(m string) string {
		ref := strings.TrimSpace(m[2 : len(m)-2])
		if ref == "host" {
			return strings.TrimPrefix(g.s.URL, "http://")
		}
		id, path, _ := strings.Cut(ref, ".")
		if path == "cookie" {
			c, ok := g.cookies[id]
			if !ok {
				g.t.Fatalf("template %s: exchange %q set no cookie", m, id)
			}
			return c
		}
		v, ok := lookup(g.bodies[id], path)
		if !ok {
			g.t.Fatalf("template %s: no such value", m)
		}
		if s, ok := v.(string); ok {
			return s
		}
		b, _ := json.Marshal(v)
		return string(b)
	})
}

// expandJSON expands templates inside every string of a JSON value.
func (g *goldenRun) expandJSON(v any) any {
	switch v := v.(type) {
	case string:
		return g.expand(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = g.expandJSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = g.expandJSON(e)
		}
		return out
	}
	return v
}

// lookup returns the value at a dot path ("payload.user.0.name") of v.
func lookup(v any, path string) (any, bool) {
	if path == "" || path == "*" {
		return v, true
	}
	for _, p := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[p]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// sameShape reports the first place where got's shape differs from want's.
func sameShape(want, got any, at string) string {
	kind := func(v any) string {
		switch v.(type) {
		case nil:
			return "null"
		case bool:
			return "boolean"
		case float64:
			return "number"
		case string:
			return "string"
		case []any:
			return "array"
		}
		return "object"
	}
	if kind(want) != kind(got) {
		return fmt.Sprintf("%s: %s, want %s", at, kind(got), kind(want))
	}
	switch w := want.(type) {
	case []any:
		g := got.([]any)
		if len(g) != len(w) {
			return fmt.Sprintf("%s: %d elements, want %d", at, len(g), len(w))
		}
		for i := range w {
			if d := sameShape(w[i], g[i], at+"."+strconv.Itoa(i)); d != "" {
				return d
			}
		}
	case map[string]any:
		g := got.(map[string]any)
		var missing, extra []string
		for k := range w {
			if _, ok := g[k]; !ok {
				missing = append(missing, k)
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				extra = append(extra, k)
			}
		}
		if len(missing)+len(extra) > 0 {
			slices.Sort(missing)
			slices.Sort(extra)
			return fmt.Sprintf("%s: keys missing %v, unexpected %v", at, missing, extra)
		}
		for k := range w {
			if d := sameShape(w[k], g[k], at+"."+k); d != "" {
				return d
			}
		}
	}
	return ""
}

func TestGoldenExchanges(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	docText := strings.Join(strings.Fields(strings.ReplaceAll(string(doc), "//", "")), " ")
	total, differences := 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var gf goldenFile
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&gf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		total += len(gf.Exchanges)
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			g := newGoldenRun(t, gf.Options)
			for _, ex := range gf.Exchanges {
				if ex.KnownDifference != "" {
					differences++
					if !strings.Contains(docText, ex.KnownDifference) {
						t.Errorf("%s: known difference %q is not listed in doc.go", ex.ID, ex.KnownDifference)
					}
				}
				if !g.replay(ex) {
					return // later exchanges depend on this one
				}
			}
		})
	}
	t.Logf("%d golden exchanges in %d files, %d of them known differences", total, len(files), differences)
	if total < 60 {
		t.Errorf("only %d golden exchanges, want at least 60", total)
	}
}

func newGoldenRun(t *testing.T, o goldenOptions) *goldenRun {
	clk := NewClock(captureTime)
	opts := Options{Now: clk.Now, RouteCookieRefresh: o.RouteCookieRefresh, Workspaces: o.Workspaces, Tenants: o.Tenants}
	for _, d := range []struct {
		s   string
		dst *time.Duration
	}{{o.AccessTTL, &opts.AccessTTL}, {o.CookieRotateAfter, &opts.CookieRotateAfter}} {
		if d.s != "" {
			v, err := time.ParseDuration(d.s)
			if err != nil {
				t.Fatal(err)
			}
			*d.dst = v
		}
	}
	return &goldenRun{t: t, s: start(t, opts), clk: clk, cookies: map[string]string{}, bodies: map[string]any{}}
}

// replay sends one exchange and compares the answer; it reports whether
// the replay may go on.
func (g *goldenRun) replay(ex goldenExchange) bool {
	t := g.t
	label := ex.ID + " " + ex.Title
	if ex.Advance != "" {
		d, err := time.ParseDuration(ex.Advance)
		if err != nil {
			t.Fatalf("%s: advance: %v", label, err)
		}
		g.clk.Advance(d)
	}
	var body io.Reader
	ct := ""
	switch {
	case ex.Request.BodyText != nil:
		body, ct = strings.NewReader(*ex.Request.BodyText), "application/json"
	case len(ex.Request.Body) > 0:
		var v any
		if err := json.Unmarshal(ex.Request.Body, &v); err != nil {
			t.Fatalf("%s: request body: %v", label, err)
		}
		b, _ := json.Marshal(g.expandJSON(v))
		body, ct = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequest(ex.Request.Method, g.s.URL+g.expand(ex.Request.Path), body)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range ex.Request.Headers {
		req.Header.Set(k, g.expand(v))
	}
	res, err := client.Do(req)
	if err != nil {
		t.Errorf("%s: %v", label, err)
		return false
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if sc := res.Header.Get("Set-Cookie"); sc != "" {
		if v, _, _ := strings.Cut(sc, ";"); strings.HasPrefix(v, "qlt_") {
			if _, val, _ := strings.Cut(v, "="); val != "" {
				g.cookies[ex.ID] = val
			}
		}
	}
	var got any
	isJSON := json.Unmarshal(raw, &got) == nil
	if isJSON {
		g.bodies[ex.ID] = got
	}

	want := ex.Response
	wantStatus := want.Status
	if ex.KnownDifference != "" && ex.QelostestStatus != 0 {
		wantStatus = ex.QelostestStatus
	}
	if res.StatusCode != wantStatus {
		t.Errorf("%s: status %d, want %d; body %.300s", label, res.StatusCode, wantStatus, raw)
		return false
	}
	if ex.KnownDifference != "" {
		return true
	}
	ok := true
	fail := func(format string, args ...any) {
		t.Errorf("%s: "+format, append([]any{label}, args...)...)
		ok = false
	}
	for k, v := range want.Headers {
		if got := res.Header.Get(k); got != g.expand(v) {
			fail("header %s = %q, want %q", k, got, g.expand(v))
		}
	}
	for k, subs := range want.HeadersHave {
		for _, sub := range subs {
			if got := res.Header.Get(k); !strings.Contains(got, g.expand(sub)) {
				fail("header %s = %q, want it to contain %q", k, got, g.expand(sub))
			}
		}
	}
	for _, k := range want.NoHeaders {
		if got := res.Header.Get(k); got != "" {
			fail("header %s = %q, want none", k, got)
		}
	}
	if want.Empty && len(raw) != 0 {
		fail("body %q, want empty", raw)
	}
	if want.BodyText != nil && string(raw) != g.expand(*want.BodyText) {
		fail("body %q, want %q", raw, g.expand(*want.BodyText))
	}
	for _, sub := range want.BodyContains {
		if !strings.Contains(string(raw), sub) {
			fail("body %q lacks %q", raw, sub)
		}
	}
	if len(want.Body) > 0 {
		var w any
		if err := json.Unmarshal(want.Body, &w); err != nil {
			t.Fatalf("%s: golden body: %v", label, err)
		}
		w = g.expandJSON(w)
		switch {
		case !isJSON:
			fail("body %.300q is not JSON", raw)
		default:
			if d := sameShape(w, got, "body"); d != "" {
				fail("shape differs at %s\n got %s", d, raw)
			}
			for _, p := range want.Values {
				wv, okW := lookup(w, p)
				gv, okG := lookup(got, p)
				if !okW {
					t.Fatalf("%s: golden body has no %s", label, p)
				}
				if !okG || !reflect.DeepEqual(wv, gv) {
					fail("%s = %v, want %v", p, gv, wv)
				}
			}
		}
	}
	for p, cc := range want.Claims {
		v, _ := lookup(got, p)
		tok, _ := v.(string)
		g.checkClaims(p, tok, cc, fail)
	}
	if want.CookieClaims != nil {
		g.checkClaims("cookie", g.cookies[ex.ID], *want.CookieClaims, fail)
	}
	return ok
}

func (g *goldenRun) checkClaims(label, tok string, cc claimsCheck, fail func(string, ...any)) {
	if strings.Count(tok, ".") != 2 {
		fail("%s: %q is not a JWT", label, tok)
		return
	}
	if cc.Keys != nil {
		if got := keyOrder(g.t, tok); !slices.Equal(got, cc.Keys) {
			fail("%s: claims %v, want %v", label, got, cc.Keys)
		}
	}
	c := claims(g.t, tok)
	for k, v := range cc.Values {
		if !reflect.DeepEqual(c[k], g.expandJSON(v)) {
			fail("%s: claim %s = %v, want %v", label, k, c[k], v)
		}
	}
	if cc.TTL != nil {
		if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != *cc.TTL {
			fail("%s: exp-iat = %v, want %v", label, exp-iat, *cc.TTL)
		}
	}
}
