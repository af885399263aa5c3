// Package qelostest provides an in-memory, Qelos-compatible auth server for
// tests and for a development quick start.
//
// It speaks the wire protocol of the Qelos auth service as seen through the
// Qelos gateway: the same routes, status codes, JSON body shapes and key
// order, JWT claims (HS256, same default secrets), Set-Cookie attributes and
// quirks. Where the Qelos documentation and the real server disagree, it
// follows the captured behaviour of the real server.
//
//	client ──HTTP──▶ qelostest.Server
//	                   ├─ POST /api/signin, /api/signup        cookie or OAuth sessions
//	                   ├─ POST /api/token/refresh             single-use refresh tokens
//	                   ├─ POST /api/cookie/refresh, /api/logout, /api/auth/callback
//	                   ├─ GET  /api/me                        x-api-key > cookie > bearer
//	                   ├─ GET  /api/workspaces, POST /api/workspaces/{id}/activate
//	                   └─ GET/POST/DELETE /api/me/api-tokens
//
// # Quick start
//
//	srv := qelostest.New(qelostest.Options{})
//	defer srv.Close()
//	// srv.URL is e.g. http://127.0.0.1:41234; sign in as
//	// qelostest.AdminEmail / qelostest.AdminPassword, or mint tokens directly:
//	access, refresh, err := srv.IssuePair(qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
//
// The server starts with [DefaultUsers] (an admin who belongs to two
// workspaces, and a regular user who belongs to none) and
// [DefaultWorkspaces]. [Options] changes secrets, lifetimes, the tenant, the
// clock and the seed data.
//
// # Testing clients
//
// Every endpoint has a name (the Endpoint constants). [Server.Calls] counts
// the requests each one received, and [Server.InjectFault] makes it slow,
// drop the connection, answer garbage or answer a chosen status, for all
// calls or the next few. [Options.Now] injects a clock, and lifetimes may be
// as short as a few milliseconds, so expiry can be tested without sleeping.
//
// # Testing your app
//
// [Start] runs a Server for one test (closed when it ends) and returns a
// [Kit]: a [Clock] shared with the middleware it configures
// ([Kit.Middleware]), signed-in [Session]s for any seeded user and
// workspace ([Kit.SignIn]: request builder, cookie-jar client, or a context
// whose Auth has a working Client), and [Kit.Expire], which expires every
// access token without sleeping.
//
// # Behaviour worth knowing
//
// These follow the real server, surprising as some are:
//
//   - Sign-in and sign-up with an authType other than "cookie" or "oauth"
//     never answer: the request hangs until the client gives up (or the
//     server is closed). Give clients a timeout.
//   - Refresh tokens are single use and read only from
//     "Authorization: Bearer"; every refusal is 401 with an empty body. The
//     workspace survives exactly one refresh: the first refreshed access
//     token carries {"_id":…,"name":""}, later ones none.
//   - Access tokens are stateless: logout deletes the paired refresh record
//     but the access token stays valid until it expires. A logged-out
//     cookie token likewise stays valid for /api/me; only
//     /api/cookie/refresh refuses it.
//   - /api/me returns the workspace claim as it is in the JWT, so its name
//     is URI-encoded ("Acme%20Team").
//   - Sign-up answers 200 even for errors, with {"errors":…}.
//   - Workspace activation works only with a session cookie; with a bearer
//     token it answers 500.
//
// Where the real server leaks secrets (the social callback returns the
// whole user document, password hash included), this server returns a
// sanitised document instead. It serves a single tenant and ignores the
// tenant request header.
//
// A [Server] is safe for concurrent use.
package qelostest
