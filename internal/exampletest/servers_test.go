package exampletest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// serverTimeouts are the http.Server fields every example (and every README
// snippet) sets, so that a client trickling a body at 1 B/s or holding
// hundreds of idle keep-alive connections cannot pin the server.
var serverTimeouts = []string{"ReadHeaderTimeout", "ReadTimeout", "WriteTimeout", "IdleTimeout"}

// unboundedServe are calls that serve with a server of their own, which has
// no timeouts.
var unboundedServe = regexp.MustCompile(`http\.ListenAndServe(TLS)?\(|http\.Serve\(|\br\.Run\(|\be\.Start\(`)

// TestExampleServersHaveTimeouts reads every example's Go files and the
// README's Go snippets: each http.Server they build sets every timeout, and
// none serves through a helper that builds a server without them.
func TestExampleServersHaveTimeouts(t *testing.T) {
	root := filepath.Join("..", "..")
	servers := 0
	err := filepath.WalkDir(filepath.Join(root, "examples"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Server" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "http" {
						servers++
						set := map[string]bool{}
						for _, e := range n.Elts {
							if kv, ok := e.(*ast.KeyValueExpr); ok {
								set[kv.Key.(*ast.Ident).Name] = true
							}
						}
						for _, f := range serverTimeouts {
							if !set[f] {
								t.Errorf("%s: http.Server without %s", fset.Position(n.Pos()), f)
							}
						}
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "http" && (sel.Sel.Name == "ListenAndServe" || sel.Sel.Name == "ListenAndServeTLS" || sel.Sel.Name == "Serve") {
						t.Errorf("%s: http.%s serves without timeouts", fset.Position(n.Pos()), sel.Sel.Name)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if servers < 4 {
		t.Fatalf("found %d http.Server literals in examples/, want one per example", servers)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	for i, b := range blocks {
		code := b[1]
		if loc := unboundedServe.FindString(code); loc != "" {
			t.Errorf("README Go snippet %d serves with %s, a server without timeouts", i+1, loc)
		}
		if strings.Contains(code, "http.Server{") {
			for _, f := range serverTimeouts {
				if !strings.Contains(code, f) {
					t.Errorf("README Go snippet %d builds an http.Server without %s", i+1, f)
				}
			}
		}
	}
}
