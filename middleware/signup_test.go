package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
)

// TestSignUpKeepsTheSubmittedEmail: Qelos's sign-up token has no email; the
// user still has the one the app submitted, in the answer and on later
// requests — also on a replica that never saw the sign-up.
func TestSignUpKeepsTheSubmittedEmail(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"the username is the email", `{"username":"new@example.com","password":"password123","firstName":"New"}`, "new@example.com"},
		{"an email beside the username", `{"username":"newbie","email":"newbie@example.com","password":"password123","firstName":"New"}`, "newbie@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := middlewaretest.Start(t)
			cfg := k.Config(middleware.Config{})
			whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				u, _ := middleware.UserFrom(r.Context())
				json.NewEncoder(w).Encode(map[string]any{"user": u})
			})
			app := func(mw *middleware.Middleware) http.Handler {
				mux := http.NewServeMux()
				mux.Handle("POST /auth/signup", mw.SignUpHandler())
				mux.Handle("GET /whoami", whoami)
				return mw.Handler(mux)
			}
			email := func(rec *httptest.ResponseRecorder) string {
				var v struct{ User *middleware.User }
				if json.Unmarshal(rec.Body.Bytes(), &v) != nil || v.User == nil {
					return "(no user: " + rec.Body.String() + ")"
				}
				return v.User.Email
			}

			req := httptest.NewRequest("POST", "/auth/signup", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			app(k.Middleware(cfg)).ServeHTTP(rec, req)
			if rec.Code != 200 || email(rec) != tt.want {
				t.Fatalf("sign-up: %d %s, want the email %s", rec.Code, rec.Body, tt.want)
			}

			replica := app(k.Middleware(cfg)) // same keys, empty caches
			req = httptest.NewRequest("GET", "/whoami", nil)
			for _, c := range rec.Result().Cookies() {
				req.AddCookie(c)
			}
			rec = httptest.NewRecorder()
			replica.ServeHTTP(rec, req)
			if email(rec) != tt.want {
				t.Fatalf("whoami on a replica: %s, want the email %s", rec.Body, tt.want)
			}
		})
	}
}
