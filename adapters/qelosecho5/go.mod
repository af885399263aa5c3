module github.com/qelos-io/integrator-go/adapters/qelosecho5

go 1.25.0

require (
	github.com/labstack/echo/v5 v5.4.4
	github.com/qelos-io/integrator-go v0.1.0
)

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace github.com/qelos-io/integrator-go => ../..
