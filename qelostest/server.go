package qelostest

import (
	"cmp"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of [Options], equal to the real auth service's config defaults.
const (
	DefaultJWTSecret         = "abcddddd"
	DefaultRefreshSecret     = "a secret 2 phrase!!"
	DefaultAccessTTL         = 300 * time.Minute
	DefaultRefreshTTL        = 30 * 24 * time.Hour
	DefaultCookieTTL         = 30 * 24 * time.Hour
	DefaultCookieRotateAfter = 30 * time.Minute
	DefaultTenant            = "0"
)

// Options configures a [Server]. The zero value gives a server that behaves
// like a freshly installed Qelos with the demo users.
type Options struct {
	// JWTSecret signs access and cookie tokens (HS256). Default:
	// DefaultJWTSecret, the Qelos default, so tokens verify with the same
	// secret a default Qelos install uses.
	JWTSecret string
	// RefreshSecret signs refresh tokens. Default: DefaultRefreshSecret.
	RefreshSecret string
	// AccessTTL is the lifetime of OAuth access tokens. Default: 300
	// minutes. A whole number of seconds gives exp = iat + AccessTTL as the
	// real server does (iat is rounded down to the second, so the token
	// lives up to a second less than AccessTTL). Any other value, e.g.
	// 50*time.Millisecond, gives exp = now + AccessTTL encoded as a
	// fractional NumericDate with millisecond precision
	// (e.g. 1795747241.25). The server honours the fraction; note that
	// golang-jwt parses it but truncates it to whole seconds unless its
	// TimePrecision is changed.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of refresh tokens (same encoding rules as
	// AccessTTL). Default: 30 days.
	RefreshTTL time.Duration
	// CookieTTL is the lifetime of cookie-mode session tokens and the
	// Max-Age of the session cookie. Default: 30 days.
	CookieTTL time.Duration
	// CookieRotateAfter is the age of a session cookie's identifier after
	// which any authenticated request rotates it (sets a new cookie).
	// Default: 30 minutes (Qelos's COOKIE_TOKEN_VERIFICATION_TIME).
	CookieRotateAfter time.Duration
	// Tenant is the tenant id put in tokens; the session cookie is named
	// "qlt_" + its first 8 characters. Default: "0".
	Tenant string
	// Now is the server's clock, used for every iat, exp, cookie Expires,
	// identifier timestamp and API-token expiry. Default: time.Now. It may
	// be called from many goroutines at once.
	Now func() time.Time
	// Users are the users the server starts with. Nil means DefaultUsers();
	// an empty non-nil slice means none.
	Users []User
	// Workspaces are the workspaces the server starts with. Nil means
	// DefaultWorkspaces(); an empty non-nil slice means none.
	Workspaces []Workspace
	// Tenants are further tenants, each with its own users, workspaces and
	// API tokens, chosen per request by the "tenant" header (see [Tenant]).
	// A tenant id the server does not know is created empty on first use,
	// as Qelos serves any tenant id. Default: none.
	Tenants []Tenant
	// RouteCookieRefresh serves POST /api/cookie/refresh as the Qelos auth
	// service does when it is called directly. Default false: the Qelos
	// gateway does not route that path (it falls to the plugins
	// catch-all), so behind the gateway it answers 504 with a text body,
	// and so does this server. Set it only to test a client that talks to
	// the auth service directly.
	RouteCookieRefresh bool
	// RefreshRace reproduces Qelos's non-atomic refresh. Qelos reads the
	// user, checks the refresh token is on record, mints a new pair and
	// saves, without a lock: several concurrent spends of one refresh
	// token all succeed (8 simultaneous spends let 1 to 7 through on a real
	// stack), forking one session into several. With RefreshRace > 0 a
	// refresh token stays spendable for RefreshRace after its first spend,
	// every spend in that window succeeds with a new pair, and, as with
	// Qelos's last save winning, only the refresh token minted last stays
	// on record (every new access token stays valid until it expires).
	// The window is measured on the wall clock, not Options.Now, since it
	// models requests in flight at the same time. Default 0: a refresh
	// token is spent atomically, exactly once.
	RefreshRace time.Duration
	// Logger, when set, receives one Info record per request (method,
	// path, endpoint, status, duration) and a Warn record per injected
	// fault. Token values, query strings and credentials are never logged.
	Logger *slog.Logger
}

// Server is a Qelos-compatible auth service in memory. It is safe for
// concurrent use.
type Server struct {
	// URL is the base URL of the listening server, e.g.
	// "http://127.0.0.1:41234", with no trailing slash. It is empty for a
	// server made by NewHandler.
	URL string

	opts    Options
	handler http.Handler
	srv     *http.Server
	done    chan struct{} // closed by Close; releases hanging handlers
	close   sync.Once

	flightMu sync.Mutex     // guards closed and Adds to flight
	closed   bool           // set by Close
	flight   sync.WaitGroup // handlers in flight

	mu sync.Mutex // guards the fields below and every tenant's data
	// tenantState is the default tenant (Options.Tenant); its users,
	// workspaces and API tokens are reachable as s.users etc.
	*tenantState
	tenants map[string]*tenantState // the other tenants, by id
	spent   map[string]spentRefresh // RefreshRace: refresh tokens being spent
	// socialCodes are the stand-in provider's codes, by code.
	socialCodes map[string]socialCode

	faultMu sync.Mutex // guards calls, faults and cleared
	calls   map[string]int
	faults  map[string]*Fault
	cleared chan struct{} // closed and replaced by ClearFaults
}

// New starts a Server on a free loopback port (127.0.0.1:0), like
// httptest.NewServer, and returns it with URL set. Call [Server.Close] when
// done. New panics if it cannot listen on the loopback interface, as
// httptest.NewServer does.
func New(opts Options) *Server {
	s := NewHandler(opts)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("qelostest: failed to listen on a port: " + err.Error())
	}
	s.URL = "http://" + l.Addr().String()
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s
}

// NewHandler returns a Server that does not listen: serve [Server.Handler]
// behind a listener of your own. URL is empty. Call [Server.Close] to release
// requests that are hanging (invalid authType, Delay faults).
func NewHandler(opts Options) *Server {
	opts.JWTSecret = cmp.Or(opts.JWTSecret, DefaultJWTSecret)
	opts.RefreshSecret = cmp.Or(opts.RefreshSecret, DefaultRefreshSecret)
	opts.AccessTTL = cmp.Or(opts.AccessTTL, DefaultAccessTTL)
	opts.RefreshTTL = cmp.Or(opts.RefreshTTL, DefaultRefreshTTL)
	opts.CookieTTL = cmp.Or(opts.CookieTTL, DefaultCookieTTL)
	opts.CookieRotateAfter = cmp.Or(opts.CookieRotateAfter, DefaultCookieRotateAfter)
	opts.Tenant = cmp.Or(opts.Tenant, DefaultTenant)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Users == nil {
		opts.Users = DefaultUsers()
	}
	if opts.Workspaces == nil {
		opts.Workspaces = DefaultWorkspaces()
	}
	s := &Server{
		opts:        opts,
		done:        make(chan struct{}),
		calls:       make(map[string]int),
		faults:      make(map[string]*Fault),
		cleared:     make(chan struct{}),
		tenantState: &tenantState{id: opts.Tenant},
		tenants:     make(map[string]*tenantState),
		spent:       make(map[string]spentRefresh),
	}
	s.seed(s.tenantState, opts.Users, opts.Workspaces)
	for _, t := range opts.Tenants {
		if t.ID == "" || t.ID == opts.Tenant {
			panic("qelostest: every Options.Tenants entry needs an ID other than Options.Tenant")
		}
		ts := s.tenantLocked(t.ID, true)
		s.seed(ts, t.Users, t.Workspaces)
	}
	s.handler = s.routes()
	return s
}

// Handler returns the server's HTTP handler. Every response carries
// X-API-Version: v1, as behind the Qelos gateway.
func (s *Server) Handler() http.Handler { return s.handler }

// Secret returns the JWT secret that signs access and cookie tokens, for
// HS256 verification in other tests.
func (s *Server) Secret() string { return s.opts.JWTSecret }

// RefreshSecret returns the secret that signs refresh tokens.
func (s *Server) RefreshSecret() string { return s.opts.RefreshSecret }

// Close releases hanging requests (invalid authType, Delay faults) and, for
// a server made by New, stops listening, closes every connection and waits
// for the handlers in flight to return. Close is idempotent. A handler from
// NewHandler keeps serving after Close, but never hangs again.
func (s *Server) Close() {
	s.close.Do(func() {
		s.flightMu.Lock()
		s.closed = true
		s.flightMu.Unlock()
		close(s.done)
		if s.srv != nil {
			_ = s.srv.Close()
		}
		s.flight.Wait()
	})
}

// track counts the handlers in flight so Close can wait for them.
func (s *Server) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.flightMu.Lock()
		if s.closed {
			s.flightMu.Unlock()
			next.ServeHTTP(w, r)
			return
		}
		s.flight.Add(1)
		s.flightMu.Unlock()
		defer s.flight.Done()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) now() time.Time { return s.opts.Now() }

// callerHandler serves a request whose caller is authenticated.
type callerHandler func(w http.ResponseWriter, r *http.Request, id *identity)

// as serves h to the callers auth lets through (requireUser,
// requirePrivileged, tokenManager); auth answers the others.
func (s *Server) as(auth func(http.ResponseWriter, *http.Request) *identity, h callerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if id := auth(w, r); id != nil {
			h(w, r, id)
		}
	}
}

// routes builds the handler tree.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for name, h := range map[string]http.HandlerFunc{
		EndpointSignIn:           s.handleSignIn,
		EndpointSignUp:           s.handleSignUp,
		EndpointRefresh:          s.handleRefresh,
		EndpointCookieRefresh:    s.handleCookieRefresh,
		EndpointMe:               s.as(s.requireUser, s.handleMe),
		EndpointUpdateMe:         s.as(s.requireUser, s.handleUpdateMe),
		EndpointUsers:            s.as(s.requirePrivileged, s.handleUsers),
		EndpointWorkspaces:       s.as(s.requireUser, s.handleWorkspaces),
		EndpointCreateWorkspace:  s.as(s.requireUser, s.handleCreateWorkspace),
		EndpointWorkspace:        s.as(s.requireUser, s.handleWorkspace),
		EndpointUpdateWorkspace:  s.as(s.requireUser, s.handleUpdateWorkspace),
		EndpointWorkspaceMembers: s.as(s.requireUser, s.handleWorkspaceMembers),
		EndpointLogout:           s.as(s.requireUser, s.handleLogout),
		EndpointAuthCallback:     s.handleAuthCallback,
		EndpointActivate:         s.as(s.requireUser, s.handleActivate),
		EndpointAPITokens:        s.as(s.tokenManager, s.handleListAPITokens),
		EndpointCreateAPIToken:   s.as(s.tokenManager, s.handleCreateAPIToken),
		EndpointDeleteAPIToken:   s.as(s.tokenManager, s.handleDeleteAPIToken),
		EndpointSocialStart:      withProvider(s.handleSocialStart),
		EndpointSocialCallback:   withProvider(s.handleSocialCallback),
		EndpointProvider:         s.handleProviderAuthorize,
		EndpointRoles:            s.as(s.requirePrivileged, s.handleRoles),
		EndpointInvites:          s.as(s.requireUser, s.handleInvites),
		EndpointRespondInvite:    s.as(s.requireUser, s.handleRespondInvite),
	} {
		mux.Handle(name, s.endpoint(name, h))
	}
	mux.HandleFunc("/", writeNotFound)
	return s.track(s.gateway(s.express(mux)))
}

// gateway does what the Qelos gateway adds to every answer: the
// X-API-Version header and the Accept-Version check. It also folds the path
// as Express routes it, and logs.
func (s *Server) gateway(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = expressRequest(r)
		w.Header().Set("X-API-Version", "v1")
		if v := r.Header.Get("Accept-Version"); v != "" && v != "v1" {
			writeMessage(w, http.StatusBadRequest, "Unsupported API version: "+v)
			return
		}
		if s.opts.Logger == nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.opts.Logger.LogAttrs(r.Context(), slog.LevelInfo, "qelostest request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("endpoint", r.Pattern),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)),
		)
	})
}

func (s *Server) logFault(r *http.Request, f Fault) {
	if s.opts.Logger == nil {
		return
	}
	s.opts.Logger.LogAttrs(r.Context(), slog.LevelWarn, "qelostest fault",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", f.Status),
		slog.Duration("delay", f.Delay),
		slog.Bool("drop", f.Drop),
		slog.Bool("garbage", f.Garbage),
	)
}

// statusRecorder remembers the status written through it. Unwrap lets
// http.ResponseController reach the connection (for Drop faults).
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
