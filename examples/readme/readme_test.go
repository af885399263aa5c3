// Package readme holds the documentation's Go snippets to the code: every
// ```go block of README.md and docs/*.md is compiled, verbatim, and the
// README's app test is run against each of the README's apps.
package readme

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A snippet is one ```go block, named by a preceding
// "<!-- snippet: NAME -->" line (else by its file and line).
type snippet struct {
	name, where, code string
}

var marker = regexp.MustCompile(`^<!-- snippet: ([a-z0-9-]+) -->$`)

// snippets reads the ```go blocks of a Markdown file.
func snippets(t *testing.T, path string) []snippet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []snippet
	var cur *snippet
	name := ""
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		switch {
		case cur != nil && text == "```":
			out = append(out, *cur)
			cur, name = nil, ""
		case cur != nil:
			cur.code += text + "\n"
		case text == "```go":
			where := fmt.Sprintf("%s:%d", filepath.Base(path), line)
			if name == "" {
				name = strings.NewReplacer(".", "-", ":", "-").Replace(strings.ToLower(where))
			}
			cur = &snippet{name: name, where: where}
		case marker.MatchString(text):
			name = marker.FindStringSubmatch(text)[1]
		}
	}
	if cur != nil {
		t.Fatalf("%s: a ```go block is not closed", cur.where)
	}
	return out
}

// The declared prelude of a snippet that is not a whole file: it is the
// body of a function in package main whose file imports the packages
// below, with these package-level variables in scope: mux (your
// *http.ServeMux), srv (your *http.Server), cfg (a middleware.Config) and
// logger (a *slog.Logger).
const preludeFile = `package main

import (
	"log/slog"
	"net/http"

	"github.com/qelos-io/integrator-go/middleware"
)

var (
	mux    = http.NewServeMux()
	srv    = &http.Server{}
	cfg    middleware.Config
	logger = slog.Default()
)

var _, _, _, _ = mux, srv, cfg, logger

func main() { snippet() }
`

const bodyImports = `package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

var (
	_ = context.Background
	_ = errors.New
	_ = fmt.Sprint
	_ = log.Fatal
	_ = slog.Info
	_ = http.StatusOK
	_ = os.Getenv
	_ = time.Second
	_ = middleware.New
	_ = middlewaretest.Start
	_ = redisstore.NewFromEnv
)

func snippet() {
`

// appTest is the snippet that is the test of every README app, and apps
// the snippets it runs against.
const appTest = "app-test"

var apps = []string{"nethttp", "chi", "gin", "echo"}

// TestDocumentationSnippets compiles every ```go block of README.md and
// docs/*.md as written (a block that starts with "package" as a file of its
// own, any other inside the declared prelude above), and runs the README's
// app test against each of the README's apps.
func TestDocumentationSnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module of its own")
	}
	files, _ := filepath.Glob("../../docs/*.md")
	files = append([]string{"../../README.md"}, files...)
	var all []snippet
	byName := map[string]snippet{}
	for _, f := range files {
		for _, s := range snippets(t, f) {
			if _, dup := byName[s.name]; dup {
				t.Fatalf("%s: snippet name %q used twice", s.where, s.name)
			}
			byName[s.name] = s
			all = append(all, s)
		}
	}
	for _, want := range append([]string{appTest, "five-lines", "replicas"}, apps...) {
		if _, ok := byName[want]; !ok {
			t.Fatalf("README.md has no snippet %q", want)
		}
	}

	dir := t.TempDir()
	writeModule(t, dir)
	for _, s := range all {
		if s.name == appTest {
			continue
		}
		sub := filepath.Join(dir, s.name)
		os.MkdirAll(sub, 0o755)
		if strings.HasPrefix(s.code, "package ") {
			write(t, filepath.Join(sub, "main.go"), s.code)
		} else {
			write(t, filepath.Join(sub, "prelude.go"), preludeFile)
			write(t, filepath.Join(sub, "snippet.go"), bodyImports+s.code+"}\n")
		}
	}
	for _, a := range apps {
		write(t, filepath.Join(dir, a, "main_test.go"), byName[appTest].code)
	}
	if out, err := goCmd(dir, "vet", "./..."); err != nil {
		t.Fatalf("the documentation's snippets do not compile:\n%s\n(where: %s)", out, wheres(all))
	}
	args := []string{"test", "-count=1"}
	for _, a := range apps {
		args = append(args, "./"+a)
	}
	if out, err := goCmd(dir, args...); err != nil {
		t.Fatalf("the README's app test fails against the README's apps:\n%s", out)
	}
	t.Logf("%d snippets compiled; the app test passed against %v", len(all), apps)
}

func wheres(all []snippet) string {
	var b strings.Builder
	for _, s := range all {
		fmt.Fprintf(&b, "%s=%s ", s.name, s.where)
	}
	return b.String()
}

// writeModule makes dir a module with the examples module's requirements,
// its replaces pointing at this tree.
func writeModule(t *testing.T, dir string) {
	t.Helper()
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("..")
	mod = regexp.MustCompile(`(?m)^module .*$`).ReplaceAll(mod, []byte("module example.com/snippets"))
	mod = regexp.MustCompile(`=> \.\.`).ReplaceAll(mod, []byte("=> "+abs+"/.."))
	write(t, filepath.Join(dir, "go.mod"), string(mod))
	sum, err := os.ReadFile("../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.sum"), string(sum))
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func goCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}
