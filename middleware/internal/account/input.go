package account

import (
	"bufio"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	qelos "github.com/qelos-io/integrator-go"
)

// maxFormBody caps a sign-in or sign-up body.
const maxFormBody = 64 << 10

// Bounds on the list fields of a body (sign-in's "roles").
const (
	maxListItems   = 32
	maxFieldLength = 256
)

// sessionForm returns a handler of a form that sets the session pair:
// serve gets a writer that makes the answer uncacheable and the POST's
// fields, read as by postInput, which answers what it cannot read.
func (h *Handlers) sessionForm(serve func(w http.ResponseWriter, r *http.Request, in input)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = h.core.NoStore(w) // sets the pair: never cacheable
		if in, ok := h.postInput(w, r); ok {
			serve(w, r, in)
		}
	})
}

// postInput reads the fields of a POST (see readInput), answering 405 to
// another method and 400 to an unreadable body; ok is false when it has
// answered.
func (h *Handlers) postInput(w http.ResponseWriter, r *http.Request) (in input, ok bool) {
	if !h.allowPost(w, r) {
		return in, false
	}
	in, err := readInput(w, r)
	if err != nil {
		h.core.Fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: err.Error()})
		return in, false
	}
	return in, true
}

// allowPost answers 405 to a method other than POST; false when it has
// answered.
func (h *Handlers) allowPost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	h.core.Fail(w, r, &qelos.Error{Status: http.StatusMethodNotAllowed, Code: qelos.CodeMethodNotAllowed, Message: "use POST"})
	return false
}

// input is a request's fields, from a JSON object or a form body.
type input struct {
	fields map[string]string
	// lists holds the fields that are lists of strings: a JSON array, or
	// a form field sent more than once or as "name[]".
	lists map[string][]string
	r     *http.Request
}

// get returns a field of the body. Credentials are read with get only: a
// password in a URL is logged by every proxy on the way.
func (in input) get(name string) string { return in.fields[name] }

// list returns a list field of the body; a single string field is a list
// of one.
func (in input) list(name string) []string {
	if l, ok := in.lists[name]; ok {
		return l
	}
	if v, ok := in.fields[name]; ok && v != "" {
		return []string{v}
	}
	return nil
}

// orQuery returns a field of the body, else of the URL query: for fields
// that are no secret, such as returnTo or a workspace id.
func (in input) orQuery(name string) string {
	if v, ok := in.fields[name]; ok {
		return v
	}
	return in.r.URL.Query().Get(name)
}

// readInput reads a JSON object or a form, at most 64 KiB. A body sent
// without a Content-Type (curl -d, fetch with a string body and no
// headers) whose first non-blank byte is "{" is read as JSON; a JSON
// object under a form type is refused with a message naming the header to
// send, rather than read as an empty form.
func readInput(w http.ResponseWriter, r *http.Request) (input, error) {
	in := input{fields: map[string]string{}, lists: map[string][]string{}, r: r}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return in, in.readJSON(r)
	case mt == "multipart/form-data":
		return in, errors.New("send the fields as JSON (Content-Type: application/json) or application/x-www-form-urlencoded")
	case mt == "" || mt == "text/plain" || mt == "application/x-www-form-urlencoded":
		br := bufio.NewReader(r.Body)
		r.Body = readCloser{br, r.Body}
		if startsWithBrace(br) {
			if mt == "application/x-www-form-urlencoded" {
				return in, errors.New("the body is JSON but Content-Type says application/x-www-form-urlencoded: send Content-Type: application/json")
			}
			return in, in.readJSON(r)
		}
		if mt == "" || mt == "text/plain" {
			// ParseForm reads only declared forms: read it as one.
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	default:
		return in, errors.New("unsupported Content-Type " + mt + ": send the fields as JSON (Content-Type: application/json) or application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return in, errors.New("body is not a form")
	}
	for k, v := range r.PostForm {
		if len(v) == 0 {
			continue
		}
		if name, ok := strings.CutSuffix(k, "[]"); ok || len(v) > 1 {
			if len(v) > maxListItems {
				return in, errors.New("field " + name + " has too many items")
			}
			in.lists[name] = v
			continue
		}
		in.fields[k] = v[0]
	}
	return in, nil
}

// readJSON reads a JSON object: string fields, and arrays of strings.
func (in *input) readJSON(r *http.Request) error {
	var raw map[string]any
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return errors.New("body is not a JSON object")
	}
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			in.fields[k] = v
		case []any:
			if len(v) > maxListItems {
				return errors.New("field " + k + " has too many items")
			}
			l := make([]string, 0, len(v))
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return errors.New("field " + k + " must be a list of strings")
				}
				l = append(l, s)
			}
			in.lists[k] = l
		}
	}
	return nil
}

// startsWithBrace reports whether the first non-blank byte of br is "{",
// looking no further than the blanks and that byte.
func startsWithBrace(br *bufio.Reader) bool {
	for n := 1; n <= br.Size(); n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			return false
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
			if err != nil {
				return false
			}
			continue
		default:
			return c == '{'
		}
	}
	return false
}

// readCloser reads from a buffered reader and closes the body under it.
type readCloser struct {
	*bufio.Reader
	body interface{ Close() error }
}

func (rc readCloser) Close() error { return rc.body.Close() }
