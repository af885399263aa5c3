// Package qelos holds the domain types the other packages share — the
// signed-in [User], the [Workspace], the credential [Mode] — and the error
// model: the [Error] type, every answer's code, every sentinel, and
// [WriteError], the one function that turns an error into an answer.
//
// It imports nothing but the standard library, so every other package of
// the module may import it. Applications normally reach these names through
// package middleware, which keeps aliases for User and Workspace.
package qelos
