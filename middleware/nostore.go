package middleware

import (
	"io"
	"net/http"
	"strings"
)

// noStoreValue is the Cache-Control of every answer that sets or clears a
// cookie: no cache, shared or private, keeps it, so one visitor's session
// (or its clearing) is never served to another.
const noStoreValue = "private, no-store"

// targetedCacheControl are the cache-control fields a CDN obeys in
// preference to Cache-Control (RFC 9213 and the vendors' own); an answer
// that sets a cookie carries none of them.
var targetedCacheControl = []string{"Cdn-Cache-Control", "Surrogate-Control", "Cloudflare-Cdn-Cache-Control"}

// noStore makes h the headers of an answer no cache may store, keyed on the
// Cookie header by any cache that stores it anyway: Cache-Control is
// replaced (whatever a handler set), targeted cache fields are removed, and
// Vary names Cookie.
func noStore(h http.Header) {
	h.Set("Cache-Control", noStoreValue)
	for _, k := range targetedCacheControl {
		delete(h, k)
	}
	for _, v := range h["Vary"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); strings.EqualFold(f, "Cookie") || f == "*" {
				return
			}
		}
	}
	h.Add("Vary", "Cookie")
}

// NoStoreIfCookies makes an answer whose headers h hold a Set-Cookie one no
// cache may store: Cache-Control: private, no-store (replacing what a
// handler set), no CDN-Cache-Control or Surrogate-Control, and Vary:
// Cookie. Call it at the last moment before the headers are written. The
// package's own writers do; it is for adapters whose framework's writer
// cannot be replaced, such as gin's and echo's (their adapters call it in
// the framework's before-write hook).
func NoStoreIfCookies(h http.Header) {
	if len(h["Set-Cookie"]) > 0 {
		noStore(h)
	}
}

// guardCookies returns w, wrapped so that its answer is made uncacheable
// (noStore) at the moment its headers are written, when w's headers
// already hold a Set-Cookie; otherwise w itself, so a request that set no
// cookie costs nothing.
func guardCookies(w http.ResponseWriter) http.ResponseWriter {
	if len(w.Header()["Set-Cookie"]) == 0 {
		return w
	}
	return cookieResponse(w)
}

// cookieResponse returns w wrapped so that, if its headers hold a
// Set-Cookie when they are written, the answer is made uncacheable
// (noStore). The handlers that may set a cookie after they start (sign-in,
// sign-out, the social handlers, the proxy) wrap their writer with it, so
// a Cache-Control set later by anyone, a handler or an upstream answer,
// cannot make such an answer cacheable.
func cookieResponse(w http.ResponseWriter) http.ResponseWriter {
	if _, ok := w.(*cookieWriter); ok {
		return w
	}
	return &cookieWriter{ResponseWriter: w}
}

// cookieWriter is the writer of cookieResponse. It implements Unwrap, so
// http.ResponseController reaches the writer it wraps (Flush, Hijack,
// deadlines), and http.Flusher and io.ReaderFrom, which it passes on.
type cookieWriter struct {
	http.ResponseWriter
	wrote bool // the final headers have been written
}

// check applies noStore when the headers about to be written set a cookie.
func (w *cookieWriter) check() {
	if h := w.ResponseWriter.Header(); len(h["Set-Cookie"]) > 0 {
		noStore(h)
	}
}

func (w *cookieWriter) WriteHeader(code int) {
	if !w.wrote {
		w.check() // informational (1xx) headers are written too
		w.wrote = code >= 200
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *cookieWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.check()
		w.wrote = true
	}
	return w.ResponseWriter.Write(b)
}

// Flush writes the headers, if not yet written, and flushes.
func (w *cookieWriter) Flush() {
	if !w.wrote {
		w.check()
		w.wrote = true
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// ReadFrom copies src to the wrapped writer, which may send a file
// without copying it through user space.
func (w *cookieWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wrote {
		w.check()
		w.wrote = true
	}
	return io.Copy(w.ResponseWriter, src)
}

// finish applies noStore to an answer no handler wrote, which the server
// is about to write itself; an answer written later (an error handler of a
// framework) is checked again.
func (w *cookieWriter) finish() {
	if !w.wrote {
		w.check()
	}
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *cookieWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
