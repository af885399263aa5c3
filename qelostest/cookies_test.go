package qelostest

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// The cookie Domain is the request host without its port.
func TestCookieDomain(t *testing.T) {
	s := NewHandler(Options{})
	defer s.Close()
	tests := []struct {
		host, tenanthost, want string
	}{
		{"localhost:3000", "", "Domain=localhost;"},
		{"app.example.com", "", "Domain=app.example.com;"},
		{"[::1]:9000", "", "Domain=::1;"},
		{"127.0.0.1:9000", "tenant.example.com", "Domain=tenant.example.com;"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/signin", strings.NewReader(`{"username":"admin@example.com","password":"Admin-Pass-123"}`))
			req.Host = tt.host
			req.Header.Set("Content-Type", "application/json")
			if tt.tenanthost != "" {
				req.Header.Set("tenanthost", tt.tenanthost)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if sc := rec.Header().Get("Set-Cookie"); !contains(sc, "; "+tt.want) {
				t.Fatalf("Set-Cookie = %s", sc)
			}
		})
	}
}
