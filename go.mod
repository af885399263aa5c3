module github.com/qelos-io/integrator-go

go 1.25.0

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/gorilla/securecookie v1.1.2
	golang.org/x/sync v0.22.0
)
