package qelostest

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"strconv"
	"time"
)

// field is one key of an [object].
type field struct {
	key string
	val any
}

// object is a JSON object that keeps its keys in insertion order, so that
// response bodies and JWT payloads match the real server byte for byte.
// Express and jsonwebtoken serialise with JSON.stringify, which keeps
// insertion order and does not escape HTML characters; object does the same.
type object []field

// add appends key with val.
func (o object) add(key string, val any) object {
	return append(o, field{key, val})
}

// addString appends key only when s is non-empty, mirroring JSON.stringify
// dropping undefined properties.
func (o object) addString(key, s string) object {
	if s == "" {
		return o
	}
	return append(o, field{key, s})
}

// set replaces the value of key, or appends key when it is absent, like
// assigning a property in JavaScript.
func (o object) set(key string, val any) object {
	for i := range o {
		if o[i].key == key {
			o[i].val = val
			return o
		}
	}
	return append(o, field{key, val})
}

// MarshalJSON implements [json.Marshaler].
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshal(f.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := marshal(f.val)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal encodes v like JSON.stringify: compact and without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeJSON answers with status and v encoded as JSON, with the headers
// Express sends.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshal(v)
	if err != nil {
		// Only reachable with unencodable seed metadata (e.g. a channel).
		status = http.StatusInternalServerError
		body = []byte(`{"message":"qelostest: cannot encode response"}`)
	}
	writeBody(w, status, "application/json; charset=utf-8", body)
}

// writeMessage answers with status and {"message": msg}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, object{{"message", msg}})
}

// writeEmpty answers with status and an empty body (Content-Length: 0, no
// Content-Type), as Express's res.status(n).end() does.
func writeEmpty(w http.ResponseWriter, status int) {
	writeBody(w, status, "", nil)
}

// writeBody answers with status, an optional content type and body.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeNotFound answers like Express's final handler for an unknown route.
func writeNotFound(w http.ResponseWriter, r *http.Request) {
	writeErrorPage(w, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.EscapedPath())
}

// writeServerError answers like Express's final handler (development mode)
// for an uncaught exception: 500 with an HTML page naming the error. The
// real page adds the JavaScript stack trace.
func writeServerError(w http.ResponseWriter, msg string) {
	writeErrorPage(w, http.StatusInternalServerError, msg)
}

// writeErrorPage writes Express's final-handler page.
func writeErrorPage(w http.ResponseWriter, status int, msg string) {
	body := "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>" +
		html.EscapeString(msg) + "</pre>\n</body>\n</html>\n"
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	writeBody(w, status, "text/html; charset=utf-8", []byte(body))
}

// isoTime formats t like JavaScript's Date.prototype.toISOString.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
