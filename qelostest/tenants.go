package qelostest

import (
	"net/http"
	"strings"
)

// Tenant is a further tenant of a [Server], beside the default one
// ([Options.Tenant] with [Options.Users] and [Options.Workspaces]). Qelos
// keeps every tenant's users, workspaces and API tokens apart; a client
// chooses the tenant with the "tenant" request header, which the Qelos
// gateway passes on as it is (and sets to the default tenant when it is
// absent).
type Tenant struct {
	// ID is the tenant id: the value of the "tenant" request header, the
	// "tenant" claim of the tenant's tokens and the suffix of its session
	// cookie ("qlt_" + its first 8 characters). Required.
	ID string
	// Users are the tenant's users. Unlike [Options.Users], nil means none:
	// a tenant starts empty, as a new Qelos tenant does.
	Users []User
	// Workspaces are the tenant's workspaces. Nil means none.
	Workspaces []Workspace
}

// tenantState is the data of one tenant. It is guarded by Server.mu.
type tenantState struct {
	id         string
	users      []*userRecord
	workspaces []*workspaceRecord
	apiTokens  []*apiTokenRecord
}

// tenantHeader returns the tenant a request names, as the Qelos gateway
// resolves it: the "tenant" header, else the default tenant.
func (s *Server) tenantHeader(r *http.Request) string {
	if t := strings.TrimSpace(r.Header.Get("Tenant")); t != "" {
		return t
	}
	return s.opts.Tenant
}

// requestTenant returns the tenant a request names, creating an empty one
// for an id the server has not seen (Qelos serves any tenant id the
// gateway lets through; it simply has no users yet).
func (s *Server) requestTenant(r *http.Request) *tenantState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenantLocked(s.tenantHeader(r), true)
}

// tenantLocked returns the tenant with id, or nil when it is unknown and
// create is false. The caller holds s.mu.
func (s *Server) tenantLocked(id string, create bool) *tenantState {
	if id == "" || id == s.opts.Tenant {
		return s.tenantState
	}
	t := s.tenants[id]
	if t == nil && create {
		t = &tenantState{id: id}
		s.tenants[id] = t
	}
	return t
}

// cookieNameFor is Qelos's getCookieTokenName: "qlt_" followed by the
// first 8 characters of the tenant.
func cookieNameFor(tenant string) string {
	if len(tenant) > 8 {
		tenant = tenant[:8]
	}
	return "qlt_" + tenant
}
