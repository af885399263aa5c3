package qelosgin_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/qelos-io/integrator-go/adapters/qelosgin"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestMultipartTempFilesAreRemoved: a multipart form a handler parses on
// the request New passes on, or SelectWorkspace after it, leaves no file in
// the temp directory, also when the handler panics under gin's recovery:
// net/http removes only the files of the request it made.
func TestMultipartTempFilesAreRemoved(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	parse := func(c *gin.Context) {
		if err := c.Request.ParseMultipartForm(1); err != nil { // the file goes to disk
			c.AbortWithStatus(http.StatusBadRequest)
		}
	}
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) { c.AbortWithStatus(http.StatusInternalServerError) }))
	r.Use(qelosgin.New(mw))
	r.POST("/upload", parse, func(c *gin.Context) { c.Status(http.StatusNoContent) })
	r.POST("/w/:id/upload", qelosgin.SelectWorkspaceParam("id"), parse, func(c *gin.Context) { c.Status(http.StatusNoContent) })
	r.POST("/panic", parse, func(*gin.Context) { panic("the handler failed") })
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
			r.ServeHTTP(rec, req)
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
