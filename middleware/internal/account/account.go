// Package account holds the session handlers: sign-in, sign-up,
// sign-out, social sign-in and the workspace switch. Each reads and checks
// its input, calls Qelos and maps the answer; what touches the session
// itself (sealing and clearing the cookie pair, revoking, the refresh
// coordinator, the caches, events and the error handler) it asks of the
// middleware through [Core]. The middleware's methods (SignInHandler, …)
// are their entry points.
package account

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/upstream"
	"github.com/qelos-io/integrator-go/refresh"
)

// Core is what the handlers need of the middleware's session state.
type Core interface {
	// Now is the middleware's clock.
	Now() time.Time
	// Logger is Config.Logger.
	Logger() *slog.Logger
	// Fail answers err through Config.ErrorHandler.
	Fail(w http.ResponseWriter, r *http.Request, err error)
	// NoStore wraps w so that an answer that sets or clears a cookie is
	// stored by no cache.
	NoStore(w http.ResponseWriter) http.ResponseWriter
	// Call sends one call to Qelos, bearer (when set) as Authorization
	// and body (when not nil) as JSON, and reads the whole answer.
	Call(ctx context.Context, method, path string, body any, bearer string) (*upstream.Answer, error)
	// AllowSignIn applies the sign-in rate limit to username from r; it
	// answers 429 and returns false when over the limit.
	AllowSignIn(w http.ResponseWriter, r *http.Request, username string) bool
	// Start seals pair into the session cookies as Middleware.StartSession
	// does, answering r, with email standing in for a token that names
	// none, and returns the session's user and workspace.
	Start(w http.ResponseWriter, r *http.Request, pair refresh.Pair, ws *qelos.Workspace, email string) (*qelos.User, *qelos.Workspace, error)
	// Redeem exchanges a refresh token for a pair through the refresh
	// coordinator; refresh.IsDefinitive tells a refusal.
	Redeem(ctx context.Context, refreshToken string) (refresh.Pair, error)
	// End ends the session the request's cookies name (here, in the
	// shared store and at Qelos, as far as it can) and clears its
	// cookies; it returns the user id it found.
	End(w http.ResponseWriter, r *http.Request) (userID string)
	// Emit reports a sign-in (signedIn) or a sign-out to Config.OnEvent.
	Emit(r *http.Request, signedIn bool, userID string)
	// Seal seals a social sign-in state for its cookie; Open opens the
	// state cookie of r.
	Seal(state string) (string, error)
	Open(r *http.Request) (string, error)
	// StateCookie is the social sign-in state cookie with the value and
	// Max-Age (negative: clear it), as the session cookies are set.
	StateCookie(value string, maxAge int) *http.Cookie
	// Scheme is the scheme the browser reached the app by, as the session
	// cookies see it: "http" for a plain-http request whose cookies are
	// not Secure or whose host is a loopback one, else "https".
	Scheme(r *http.Request) string
	// Session returns the credential mode of the request's signed-in user,
	// or answers 401 (or 503) and returns false.
	Session(w http.ResponseWriter, r *http.Request) (qelos.Mode, bool)
	// Workspaces lists the request's user's workspaces (cached).
	Workspaces(r *http.Request) ([]qelos.Workspace, error)
	// Switch reseals the request's session with ws as its active
	// workspace and returns the workspace recorded.
	Switch(w http.ResponseWriter, r *http.Request, ws *qelos.Workspace) (*qelos.Workspace, error)
}

// Handlers are the session handlers of one middleware.
type Handlers struct {
	core   Core
	states stateLedger // social sign-in states used, until they expire
}

// New returns the session handlers over core.
func New(core Core) *Handlers { return &Handlers{core: core} }
