// Package doccheck holds a package's documentation to its code: every
// exported function's signature must appear in the package comment, as
// the adapters promise their users.
package doccheck

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Signatures fails t for each exported function of the package in dir
// (tests excluded) whose signature, "func Name(params) results" as gofmt
// prints it, is missing from the package comment (spaces normalised).
func Signatures(t *testing.T, dir string) {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	var funcs []*ast.FuncDecl
	for _, e := range entries {
		if name := e.Name(); e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc != nil {
			doc += f.Doc.Text()
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() {
				funcs = append(funcs, fd)
			}
		}
	}
	doc = squash(doc)
	if len(funcs) == 0 {
		t.Fatalf("%s has no exported functions", dir)
	}
	for _, fd := range funcs {
		var b bytes.Buffer
		printer.Fprint(&b, fset, &ast.FuncDecl{Name: fd.Name, Type: fd.Type})
		if sig := squash(b.String()); !strings.Contains(doc, sig) {
			t.Errorf("the package doc does not show %q", sig)
		}
	}
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }
