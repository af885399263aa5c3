package middleware

import (
	"net/http"
	"unsafe"
)

// The sizes the caches' byte budgets count (Limits.CacheBytes): what an
// entry's key and value hold on the heap, estimated from above. Strings
// count their bytes plus their header; slices and maps their backing
// arrays; an allocation is rounded up to its size class (at most an eighth
// more, hence the final slack).

func stringKeySize[V any](size func(V) int64) func(string, V) int64 {
	return func(k string, v V) int64 { return slack(16 + int64(len(k)) + size(v)) }
}

func credKeySize[V any](size func(V) int64) func(credKey, V) int64 {
	return func(_ credKey, v V) int64 { return slack(int64(unsafe.Sizeof(credKey{})) + size(v)) }
}

// slack rounds an estimate up for allocator size classes and the
// pointers between the allocations.
func slack(n int64) int64 { return n + n/4 + 64 }

func authSize(a *Auth) int64 {
	if a == nil {
		return 0
	}
	n := int64(unsafe.Sizeof(*a)) + int64(len(a.accessToken)+len(a.refreshToken)+len(a.session)) + headerSize(a.cred) + userSize(a.User)
	if a.Workspace != nil && (a.User == nil || a.Workspace != a.User.Workspace) {
		n += workspaceSize(a.Workspace)
	}
	return n
}

func identitySize(e identityEntry) int64 { return authSize(e.auth) + stringsSize(e.cookies) }

func recheckSize(r recheck) int64 { return workspaceSize(r.ws) }

func workspacesSize(list []Workspace) int64 {
	n := int64(cap(list)) * int64(unsafe.Sizeof(Workspace{}))
	for i := range list {
		n += workspaceSize(&list[i]) - int64(unsafe.Sizeof(Workspace{}))
	}
	return n
}

func userSize(u *User) int64 {
	if u == nil {
		return 0
	}
	n := int64(unsafe.Sizeof(*u))
	for _, s := range []string{u.ID, u.Tenant, u.Username, u.Email, u.Phone, u.Name, u.FirstName, u.LastName, u.FullName, u.ProfileImage, u.BirthDate} {
		n += int64(len(s))
	}
	return n + stringsSize(u.Roles) + anySize(u.Metadata) + workspaceSize(u.Workspace)
}

func workspaceSize(w *Workspace) int64 {
	if w == nil {
		return 0
	}
	return int64(unsafe.Sizeof(*w)) + int64(len(w.ID)+len(w.Name)) + stringsSize(w.Roles) + stringsSize(w.Labels)
}

func stringsSize(s []string) int64 {
	n := int64(cap(s)) * 16
	for _, v := range s {
		n += int64(len(v))
	}
	return n
}

func headerSize(h http.Header) int64 {
	if h == nil {
		return 0
	}
	n := int64(64)
	for k, v := range h {
		n += 64 + int64(len(k)) + stringsSize(v)
	}
	return n
}

// anySize estimates a value decoded from JSON into an any: maps, slices,
// strings, numbers and booleans.
func anySize(v any) int64 {
	switch t := v.(type) {
	case nil:
		return 0
	case string:
		return 16 + int64(len(t))
	case map[string]any:
		n := int64(64)
		for k, e := range t {
			n += 64 + int64(len(k)) + anySize(e)
		}
		return n
	case []any:
		n := int64(24 + 16*cap(t))
		for _, e := range t {
			n += anySize(e)
		}
		return n
	}
	return 16
}
