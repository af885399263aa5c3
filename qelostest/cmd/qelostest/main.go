// Command qelostest is a Qelos-compatible auth server in memory, for
// running an app on a laptop or in CI without a real Qelos: point
// QELOS_APP_URL at it.
//
//	go run github.com/qelos-io/integrator-go/qelostest/cmd/qelostest
//	QELOS_APP_URL=http://127.0.0.1:9000 go run ./your/app
//
// It serves the routes an integrator uses (sign-in and sign-up, refresh,
// /api/me, workspaces, API tokens, social sign-in starts, roles, invites)
// with the real server's answers; the package documentation of qelostest
// lists what differs. It prints its URL and the seeded credentials, and
// serves until interrupted. All state is in memory and lost on exit.
//
// Flags:
//
//	-addr 127.0.0.1:9000     address to listen on
//	-user EMAIL:PASSWORD[:ROLE,ROLE]
//	                         add a user (repeatable; roles default to "user")
//	-no-demo                 start without the demo users and workspaces
//	-workspace NAME:EMAIL[:ROLE,ROLE]
//	                         add a workspace with that member (repeatable;
//	                         the same NAME again adds a member)
//	-tenant ID               serve a further, empty tenant (repeatable),
//	                         chosen per request by the "tenant" header
//	-seed FILE.json          users, workspaces and tenants as JSON:
//	                         {"users":[…],"workspaces":[…],"tenants":[…]},
//	                         fields as in qelostest.User, Workspace, Tenant
//	-access-ttl 300m         lifetime of access tokens (try 30s to watch
//	                         refreshes happen)
//	-refresh-ttl 720h        lifetime of refresh tokens
//	-cookie-ttl 720h         lifetime of cookie-mode sessions
//	-jwt-secret S            JWT_SECRET (default Qelos's own default)
//	-refresh-race 0          keep a spent refresh token spendable this long,
//	                         as Qelos's non-atomic refresh does
//	-fault 'ENDPOINT=FAULT'  make an endpoint misbehave (repeatable):
//	                         ENDPOINT as in qelostest's Endpoint constants
//	                         ("POST /api/token/refresh"), FAULT one or more of
//	                         503 (a status), delay=2s, drop, garbage, times=3,
//	                         joined with "+": 'POST /api/token/refresh=delay=3s+503'
//	-route-cookie-refresh    serve POST /api/cookie/refresh as the auth
//	                         service does directly (default: the gateway's 504)
//	-v                       log every request (never token values)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/qelos-io/integrator-go/qelostest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "qelostest:", err)
		}
		os.Exit(2)
	}
}

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, " ") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// run parses args, serves until ctx is done, and calls ready (when not
// nil) with the server's URL once it listens.
func run(ctx context.Context, args []string, out io.Writer, ready func(url string)) error {
	fs := flag.NewFlagSet("qelostest", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:9000", "address to listen on")
	var users, workspaces, tenants, faults list
	fs.Var(&users, "user", "add a user EMAIL:PASSWORD[:ROLE,ROLE] (repeatable)")
	fs.Var(&workspaces, "workspace", "add a workspace NAME:EMAIL[:ROLE,ROLE] (repeatable)")
	fs.Var(&tenants, "tenant", "serve a further, empty tenant ID (repeatable)")
	fs.Var(&faults, "fault", "ENDPOINT=FAULT, such as 'POST /api/token/refresh=503' (repeatable)")
	noDemo := fs.Bool("no-demo", false, "start without the demo users and workspaces")
	seed := fs.String("seed", "", "JSON file of users, workspaces and tenants")
	accessTTL := fs.Duration("access-ttl", qelostest.DefaultAccessTTL, "lifetime of OAuth access tokens")
	refreshTTL := fs.Duration("refresh-ttl", 0, "lifetime of refresh tokens (default 720h)")
	cookieTTL := fs.Duration("cookie-ttl", 0, "lifetime of cookie-mode sessions (default 720h)")
	jwtSecret := fs.String("jwt-secret", "", "JWT_SECRET (default: Qelos's default)")
	refreshRace := fs.Duration("refresh-race", 0, "reproduce Qelos's non-atomic refresh: a refresh token stays spendable this long after its first spend (0: spent atomically)")
	routeCookieRefresh := fs.Bool("route-cookie-refresh", false, "serve POST /api/cookie/refresh as the auth service does directly (default: the gateway's 504)")
	verbose := fs.Bool("v", false, "log every request (never token values)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	opts := qelostest.Options{
		AccessTTL: *accessTTL, RefreshTTL: *refreshTTL, CookieTTL: *cookieTTL, JWTSecret: *jwtSecret,
		RefreshRace: *refreshRace, RouteCookieRefresh: *routeCookieRefresh,
	}
	if *noDemo {
		opts.Users, opts.Workspaces = []qelostest.User{}, []qelostest.Workspace{}
	} else {
		opts.Users, opts.Workspaces = qelostest.DefaultUsers(), qelostest.DefaultWorkspaces()
	}
	if *seed != "" {
		if err := readSeed(*seed, &opts); err != nil {
			return err
		}
	}
	if err := addUsers(&opts, users); err != nil {
		return err
	}
	if err := addWorkspaces(&opts, workspaces); err != nil {
		return err
	}
	for _, id := range tenants {
		opts.Tenants = append(opts.Tenants, qelostest.Tenant{ID: id})
	}
	parsed := make(map[string]qelostest.Fault, len(faults))
	for _, f := range faults {
		endpoint, fault, err := parseFault(f)
		if err != nil {
			return err
		}
		parsed[endpoint] = fault
	}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	srv := qelostest.NewHandler(opts)
	defer srv.Close()
	for endpoint, f := range parsed {
		srv.InjectFault(endpoint, f)
	}

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + l.Addr().String()
	fmt.Fprintf(out, "Qelos test auth server listening on %s\n", url)
	for _, u := range opts.Users {
		fmt.Fprintf(out, "  user %s / %s (roles %s)\n", u.Username, u.Password, strings.Join(u.Roles, ","))
	}
	for _, w := range opts.Workspaces {
		fmt.Fprintf(out, "  workspace %q (%s)\n", w.Name, w.ID)
	}
	for _, t := range opts.Tenants {
		fmt.Fprintf(out, "  tenant %q (header tenant: %s)\n", t.ID, t.ID)
	}
	for endpoint, f := range parsed {
		fmt.Fprintf(out, "  fault on %s: %+v\n", endpoint, f)
	}
	fmt.Fprintf(out, "  JWT secret: %q, access tokens live %s\n", srv.Secret(), *accessTTL)
	fmt.Fprintf(out, "Use it: QELOS_APP_URL=%s QELOS_JWT_SECRET=%s\n", url, srv.Secret())

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	if ready != nil {
		ready(url)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	srv.Close() // release hanging requests first
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readSeed adds the users, workspaces and tenants of a JSON file.
func readSeed(path string, opts *qelostest.Options) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-seed: %w", err)
	}
	var seed struct {
		Users      []qelostest.User
		Workspaces []qelostest.Workspace
		Tenants    []qelostest.Tenant
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&seed); err != nil {
		return fmt.Errorf(`-seed %s: %w (expected {"users":[{"username":…,"password":…}],"workspaces":[…],"tenants":[…]})`, path, err)
	}
	opts.Users = append(opts.Users, seed.Users...)
	opts.Workspaces = append(opts.Workspaces, seed.Workspaces...)
	opts.Tenants = append(opts.Tenants, seed.Tenants...)
	return nil
}

// addUsers adds the -user flags: EMAIL:PASSWORD[:ROLE,ROLE].
func addUsers(opts *qelostest.Options, flags []string) error {
	for _, f := range flags {
		parts := strings.SplitN(f, ":", 3)
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			return fmt.Errorf("-user %q: expected EMAIL:PASSWORD[:ROLE,ROLE]", f)
		}
		u := qelostest.User{Username: parts[0], Password: parts[1], FirstName: strings.SplitN(parts[0], "@", 2)[0]}
		if len(parts) == 3 {
			u.Roles = strings.Split(parts[2], ",")
		}
		opts.Users = append(opts.Users, u)
	}
	return nil
}

// addWorkspaces adds the -workspace flags: NAME:EMAIL[:ROLE,ROLE], the
// member named by a user's username or email. Users without an ID get one
// first, so that memberships can name them.
func addWorkspaces(opts *qelostest.Options, flags []string) error {
	for i := range opts.Users {
		if opts.Users[i].ID == "" {
			opts.Users[i].ID = fmt.Sprintf("6b08ed31a15f3cecd28%05x", i+0x100)
		}
	}
	for _, f := range flags {
		parts := strings.SplitN(f, ":", 3)
		if len(parts) < 2 || parts[0] == "" {
			return fmt.Errorf("-workspace %q: expected NAME:EMAIL[:ROLE,ROLE]", f)
		}
		var userID string
		for _, u := range opts.Users {
			if u.Username == parts[1] || u.Email == parts[1] {
				userID = u.ID
			}
		}
		if userID == "" {
			return fmt.Errorf("-workspace %q: no user %q (add it with -user first)", f, parts[1])
		}
		m := qelostest.Member{UserID: userID}
		if len(parts) == 3 {
			m.Roles = strings.Split(parts[2], ",")
		}
		found := false
		for i := range opts.Workspaces {
			if opts.Workspaces[i].Name == parts[0] {
				opts.Workspaces[i].Members = append(opts.Workspaces[i].Members, m)
				found = true
			}
		}
		if !found {
			opts.Workspaces = append(opts.Workspaces, qelostest.Workspace{Name: parts[0], Members: []qelostest.Member{m}})
		}
	}
	return nil
}

// parseFault reads ENDPOINT=FAULT, FAULT being parts joined with "+": a
// status, delay=D, drop, garbage, times=N.
func parseFault(s string) (string, qelostest.Fault, error) {
	var f qelostest.Fault
	endpoint, spec, ok := strings.Cut(s, "=")
	endpoint = strings.TrimSpace(endpoint)
	if !ok || endpoint == "" || spec == "" {
		return "", f, fmt.Errorf(`-fault %q: expected ENDPOINT=FAULT, such as 'POST /api/token/refresh=503'`, s)
	}
	for part := range strings.SplitSeq(spec, "+") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		var err error
		switch k {
		case "drop":
			f.Drop = true
		case "garbage":
			f.Garbage = true
		case "delay":
			f.Delay, err = time.ParseDuration(v)
		case "times":
			f.Times, err = strconv.Atoi(v)
		default:
			f.Status, err = strconv.Atoi(k)
			if err == nil && (f.Status < 100 || f.Status > 599) {
				err = errors.New("not an HTTP status")
			}
		}
		if err != nil {
			return "", f, fmt.Errorf("-fault %q: %q: %v (parts: a status, delay=2s, drop, garbage, times=3)", s, part, err)
		}
	}
	return endpoint, f, nil
}
