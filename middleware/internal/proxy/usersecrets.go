package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The Qelos routes whose answer can hold a stored user document with its
// secrets, as the Qelos source (qelos-io/qelos, apps/auth/server) shows:
//
//   - POST /api/auth/callback (controllers/auth-callback.ts) loads the
//     user with User.findOne(…).exec() and passes the Mongoose document to
//     tokenPayload (controllers/signin-signup-token.ts), which answers
//     {"payload":{"user":<document>}}: every field of models/user.ts,
//     "password" (the bcrypt hash), "salt" and "tokens" (each session's
//     tokenIdentifier and, for OAuth, metadata.relatedToken: a live access
//     token) included.
//   - GET /api/users (controllers/users.ts, getUsersForAdmin) selects the
//     fields a privileged caller names in its "select" query, password,
//     salt and tokens included.
//
// Every other answer of apps/auth picks its user fields by name (signin,
// signup, token/refresh, cookie/refresh, me, workspace members, users/:id
// with privilegedUserFields), so it is relayed as it is.
var userSecretFields = []string{"password", "salt", "tokens"}

// maxScrubBody bounds an answer read to be scrubbed; a larger one is not
// relayed (502).
const maxScrubBody = 8 << 20

// maxScrubDepth bounds the nesting of a scrubbed answer.
const maxScrubDepth = 64

// UserDocumentRoute reports whether r goes to a Qelos route whose answer
// may hold a user document with secrets (see userSecretFields). The path is
// compared decoded, in any case and without trailing slashes, as Express
// routes it.
func UserDocumentRoute(r *http.Request) bool {
	p := strings.TrimRight(strings.ToLower(r.URL.Path), "/")
	switch {
	case p == "/api/auth/callback":
		return true
	case p == "/api/users" || strings.HasPrefix(p, "/api/users/"):
		// The fields are chosen by "select" (qs reads select[]=… too);
		// a query that does not decode is scrubbed to be safe.
		q, err := url.QueryUnescape(r.URL.RawQuery)
		return err != nil || strings.Contains(strings.ToLower(q), "select")
	}
	return false
}

// ScrubUserSecrets rewrites a proxied JSON answer without any of the
// userSecretFields, at any depth, keeping everything else in order. An
// empty or non-JSON answer (an Express 404 page) is relayed as it is; a
// JSON answer that is compressed, larger than maxScrubBody, nested deeper
// than maxScrubDepth or malformed is not relayed at all (the error makes
// it a 502).
func ScrubUserSecrets(resp *http.Response) error {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	if !isJSON && mt != "" {
		return nil
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return fmt.Errorf("qelos proxy: a user document came %s-encoded and cannot be checked for secrets", ce)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScrubBody+1))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if len(body) > maxScrubBody {
		return errors.New("qelos proxy: an answer that may hold user documents is larger than 8 MiB")
	}
	clean := body
	if len(bytes.TrimSpace(body)) > 0 {
		clean, err = scrubJSON(body)
		if err != nil && isJSON {
			return fmt.Errorf("qelos proxy: an answer that may hold user documents is not JSON: %w", err)
		}
		if err != nil {
			clean = body // no Content-Type and not JSON: no document in it
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(clean))
	resp.ContentLength = int64(len(clean))
	resp.Header.Set("Content-Length", strconv.Itoa(len(clean)))
	resp.Header.Del("Etag") // the body changed
	return nil
}

// scrubJSON re-encodes one JSON value without the userSecretFields.
func scrubJSON(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out bytes.Buffer
	out.Grow(len(body))
	if err := copyScrubbed(dec, &out, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return out.Bytes(), nil
}

var errScrubDepth = errors.New("nested too deep")

// copyScrubbed copies the next JSON value of dec to out, leaving out every
// object member named by userSecretFields (in any case).
func copyScrubbed(dec *json.Decoder, out *bytes.Buffer, depth int) error {
	if depth > maxScrubDepth {
		return errScrubDepth
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		closing := byte(']')
		if t == '{' {
			closing = '}'
		}
		out.WriteByte(byte(t))
		n := 0
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				if secretField(key) {
					var skip json.RawMessage
					if err := dec.Decode(&skip); err != nil {
						return err
					}
					continue
				}
				if n > 0 {
					out.WriteByte(',')
				}
				writeJSONString(out, key)
				out.WriteByte(':')
			} else if n > 0 {
				out.WriteByte(',')
			}
			n++
			if err := copyScrubbed(dec, out, depth+1); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		out.WriteByte(closing)
	case string:
		writeJSONString(out, t)
	case json.Number:
		out.WriteString(t.String())
	case bool:
		out.WriteString(strconv.FormatBool(t))
	case nil:
		out.WriteString("null")
	}
	return nil
}

func secretField(key string) bool {
	for _, f := range userSecretFields {
		if strings.EqualFold(key, f) {
			return true
		}
	}
	return false
}

// writeJSONString writes s as a JSON string, HTML characters unescaped.
func writeJSONString(out *bytes.Buffer, s string) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	out.Truncate(out.Len() - 1) // Encode's newline
}
