// Package middlewaretest is a testing kit for an app that uses package
// middleware (or one of its adapters): it runs a [qelostest.Server], the
// in-memory Qelos, for one test and signs users in without a sign-in
// form.
//
// [Start] runs the server for one test (closed when it ends) and returns
// a [Kit]: a [qelostest.Clock] shared with the middleware it configures
// ([Kit.Middleware], [Kit.Config]), signed-in sessions ([Session]) for any seeded
// user and workspace ([Kit.SignIn]: request builder, cookie-jar client,
// or a context whose Auth has a working Client), and [Kit.Expire], which
// expires every access token without sleeping. The middleware's log goes
// to the test's own log.
//
// The kit lives beside the middleware rather than in qelostest so that
// the fake Qelos depends on nothing it is used to test.
package middlewaretest
