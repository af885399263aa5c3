// Package qelostest provides an in-memory, Qelos-compatible auth server for
// tests and for a development quick start.
//
// It speaks the wire protocol of the Qelos auth service as seen through the
// Qelos gateway: the same routes, status codes, JSON body shapes and key
// order, JWT claims (HS256, same default secrets), Set-Cookie attributes and
// quirks. Where the Qelos documentation and the real server disagree, it
// follows the captured behaviour of the real server.
//
//	client ──HTTP──▶ qelostest.Server (the Qelos gateway and auth service in one)
//	                   ├─ POST /api/signin, /api/signup        cookie or OAuth sessions
//	                   ├─ POST /api/token/refresh             single-use refresh tokens
//	                   ├─ POST /api/logout, /api/auth/callback
//	                   ├─ POST /api/cookie/refresh            504: the gateway does not route it
//	                   ├─ GET  /api/me, POST /api/me          x-api-key > cookie > bearer
//	                   ├─ GET  /api/users                     tenant admins only
//	                   ├─ GET/POST /api/workspaces, GET/PUT /api/workspaces/{id},
//	                   │  GET /api/workspaces/{id}/members, POST /api/workspaces/{id}/activate
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
// To test an app that uses package middleware, use the testing kit in
// package middleware/middlewaretest: it runs this server for one test,
// shares a [Clock] with the middleware and signs users in without a
// sign-in form. A Clock also drives this server alone ([Options.Now]).
//
// # Behaviour worth knowing
//
// These follow the real server, surprising as some are:
//
//   - Sign-in matches the username exactly (sign-up stores it lower-cased,
//     so "ADMIN@EXAMPLE.COM" is refused), then the email; a body with only
//     "email" and no "username" is refused with
//     {"errors":{"password":"password is incorrect"}}.
//   - Sign-in and sign-up with an authType other than "cookie" or "oauth":
//     sign-in never answers (the request hangs until the client gives up or
//     the server is closed; give clients a timeout), sign-up answers
//     {"errors":{"":"FORM_SUBMISSION_FAILED"}} and creates nobody.
//   - Sign-up answers 200 even for errors, with {"errors":…}; it requires a
//     valid email, first name and password, answers {"payload":{}} and
//     creates nobody when "username" is missing, and stores the email
//     derived from the username ("<username>@null" when it has no "@").
//   - Refresh tokens are single use and read only from
//     "Authorization: Bearer"; every refusal is 401 with an empty body. The
//     workspace survives exactly one refresh: the first refreshed access
//     token carries {"_id":…,"name":""}, later ones none.
//   - Access tokens are stateless: logout deletes the paired refresh record
//     but the access token stays valid until it expires. A logged-out
//     cookie token likewise stays valid for /api/me.
//   - POST /api/cookie/refresh answers the gateway's 504: the Qelos gateway
//     does not route it. [Options.RouteCookieRefresh] serves it as the auth
//     service does when called directly.
//   - "Authorization: Bearer" without a token is a TypeError on Qelos: 500
//     with an HTML page, on every route that reads the caller.
//   - /api/me returns the workspace claim as it is in the JWT, so its name
//     is URI-encoded ("Acme%20Team").
//   - isPrivilegedUser of GET /api/workspaces is true for an admin of that
//     workspace, whatever the caller's tenant roles.
//   - Workspace activation works only with a session cookie; with a bearer
//     token it answers 500. Every workspace route answers an unknown or
//     foreign workspace with 404 {"message":"workspace not found","from":
//     "get-workspace"}, and an id that is no ObjectId with 500.
//   - Every API-key use counts twice in usageCount (the gateway's /api/me
//     pre-check authenticates too), refused scoped keys included.
//   - Paths match in any case and with a trailing slash; OPTIONS answers
//     200 with the route's methods (Express's default).
//   - Tenants: the "tenant" request header chooses the tenant, each with
//     its own users, workspaces, API tokens and session cookie name
//     ([Options.Tenants]); without the header the default tenant serves, as
//     behind the gateway. JWTs carry their tenant and are honoured whatever
//     the header says.
//   - Qelos does not spend refresh tokens atomically: several concurrent
//     spends of one refresh token may all succeed and fork the session.
//     This server spends them atomically unless [Options.RefreshRace] is
//     set. (The middleware package coalesces refreshes, so an app behind it
//     spends each refresh token once either way.)
//
// # Known differences
//
// The golden exchanges in testdata/golden (captured real answers, replayed
// by TestGoldenExchanges) pass, except where this list says otherwise:
//
//   - Malformed JSON: a malformed JSON body gets 400 with a JSON body
//     ({"message":"malformed JSON body"}) where Qelos answers 400 with an
//     HTML stack trace.
//   - Server errors: Express's 500 page here names the error, but the 500
//     page carries no stack trace.
//   - Tenant without a header: this server is the gateway and the auth
//     service in one, so a request without a tenant header is in the
//     default tenant; the auth service called directly without one finds
//     nobody (transcript 49).
//   - Non-atomic refresh: off by default (real Qelos let 1 to 7 of 8
//     concurrent spends through); with RefreshRace every spend inside the
//     window succeeds, not a random share.
//   - API-token usage always counts twice, as through the gateway; the auth
//     service called directly counts once.
//   - Answers the transcripts never showed follow a reading of the Qelos
//     source: the key order of a created or updated workspace, the members
//     list, /api/users and invites may differ from a real database, and
//     POST /api/me ignores "metadata" (its route loads no auth
//     configuration, which a metadata update needs).
//   - Configuration is fixed to the captured stack's: workspaces active,
//     anyone may create one, labels optional, every user may manage API
//     tokens; Qelos's workspace and auth configuration are not modelled.
//   - OPTIONS always gets Express's answer; the gateway's CORS answer for an
//     Origin equal to the host is not reproduced.
//   - Routes not served: GET /api/users/{id} and the other user-admin
//     routes, GET /api/workspaces/all, DELETE /api/workspaces/{id}, the
//     workspace member routes (PUT/DELETE …/members/{userId}), the MCP
//     OAuth routes (/api/auth/mcp/…), /api/me/encrypted-data, the plugins
//     catch-all and every other service (blueprints, assets, AI): unknown
//     /api paths answer Express's 404 here, where the gateway forwards
//     them.
//   - Social sign-in: every provider (linkedin, facebook, google, github)
//     is configured, and the provider is a stand-in served by this server
//     ([ProviderPath]) that signs in at once as its "login_hint" (default
//     AdminEmail), where Qelos sends the browser to the real provider with
//     the client id of the tenant's integration source, and answers 400
//     {"message":"Google social login does not exist"} when there is none.
//     The provider's redirect_uri is the start's "redirectUrl" when its
//     path ends in /callback, else this server's own callback (Qelos: the
//     tenant host over https). A returnUrl is safe only as a path:
//     websiteUrls are not modelled. The facebook callback answers GET
//     only (Qelos: any method). New social users get role "user" and no
//     profile image; emailVerified and socialLogins are not tracked.
//   - GET /api/roles lists the roles sorted; Qelos's distinct answers them
//     in the database's order (sorted in practice for a small tenant).
//   - POST /api/invites: a database failure is not modelled (Qelos then
//     answers 500 and, by a bug, tries to answer 200 as well). Accepting
//     adds roles ["user"], as Qelos does, whatever roles the invite named.
//   - No platform events (user-registered, invite responded, failed social
//     login) are emitted, and no rate limit applies anywhere (as on
//     Qelos).
//   - Passwords are compared verbatim, not hashed; sign-up stores
//     birthDate as sent (Qelos stores a date and answers it as an ISO
//     time) and ignores "phone", as Qelos's sign-up does.
//   - GET /api/users ignores "select"; birthDate is stored as sent.
//   - Seed users and workspaces may have ids that are not ObjectIds (Qelos
//     would fail to cast them); unknown ids that are not ObjectIds answer
//     500 as on Qelos.
//   - The default seed has a second workspace ("Beta Lab") the captured
//     stack did not have; the golden exchanges seed only "Acme Team".
//   - The social callback returns the whole stored user document, as the
//     real server does (password hash, salt, token records); the hash and
//     salt are stand-ins of bcrypt's shape, not bcrypt.
//
// A [Server] is safe for concurrent use.
package qelostest
