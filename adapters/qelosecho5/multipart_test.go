package qelosecho5_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
	echomw "github.com/labstack/echo/v5/middleware"
	"github.com/qelos-io/integrator-go/adapters/qelosecho5"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestMultipartTempFilesAreRemoved: a multipart form a handler parses on
// the request New passes on, or SelectWorkspace after it, leaves no file in
// the temp directory, also when the handler panics under echo's Recover:
// net/http removes only the files of the request it made.
func TestMultipartTempFilesAreRemoved(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	upload := func(c *echo.Context) error {
		if err := c.Request().ParseMultipartForm(1); err != nil { // the file goes to disk
			return c.NoContent(http.StatusBadRequest)
		}
		if c.Path() == "/panic" {
			panic("the handler failed")
		}
		return c.NoContent(http.StatusNoContent)
	}
	e := echo.New()
	e.Use(echomw.RecoverWithConfig(echomw.RecoverConfig{DisablePrintStack: true}))
	e.Use(qelosecho5.New(mw))
	e.POST("/upload", upload)
	e.POST("/w/:id/upload", upload, qelosecho5.SelectWorkspaceParam("id"))
	e.POST("/panic", upload)
	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"parsed on the request New passes on", "/upload", http.StatusNoContent},
		{"parsed on the request SelectWorkspace passes on", "/w/" + qelostest.AcmeWorkspaceID + "/upload", http.StatusNoContent},
		{"the handler panics", "/panic", http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			var body bytes.Buffer
			mp := multipart.NewWriter(&body)
			fw, _ := mp.CreateFormFile("upload", "big.bin")
			fw.Write(bytes.Repeat([]byte("x"), 64<<10))
			mp.Close()
			req := s.Request(http.MethodPost, tc.path, &body)
			req.Header.Set("Content-Type", mp.FormDataContentType())
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			left, _ := os.ReadDir(tmp)
			for _, f := range left {
				if strings.HasPrefix(f.Name(), "multipart-") {
					t.Errorf("%s left in the temp directory", f.Name())
				}
			}
		})
	}
}
