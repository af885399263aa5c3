package scripts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const root = "github.com/qelos-io/integrator-go"

// tagged are the modules the script tags, root first; examples is not.
var tagged = []string{".", "adapters/qelosecho", "adapters/qelosecho5", "adapters/qelosgin", "refresh/redisstore"}

// nested are the go.mod files that must require the root at the version.
var nested = []string{"adapters/qelosecho", "adapters/qelosecho5", "adapters/qelosgin", "examples", "refresh/redisstore"}

func tag(dir, version string) string {
	if dir == "." {
		return version
	}
	return dir + "/" + version
}

// repo copies the repository's files (tracked and untracked but not
// ignored, as they are in the work tree) into a new git repository with
// one commit, and a bare repository as its remote origin.
func repo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	top := strings.TrimSpace(git(t, ".", "rev-parse", "--show-toplevel"))
	dst := filepath.Join(t.TempDir(), "repo")
	for _, f := range strings.Split(strings.TrimSpace(git(t, top, "ls-files", "-co", "--exclude-standard")), "\n") {
		b, err := os.ReadFile(filepath.Join(top, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(filepath.Join(top, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dst, "init", "-q", "-b", "main")
	git(t, dst, "add", "-A")
	git(t, dst, "commit", "-q", "-m", "the tree under test")
	bare := filepath.Join(t.TempDir(), "remote.git")
	git(t, dst, "init", "-q", "--bare", bare)
	git(t, dst, "remote", "add", "origin", bare)
	return dst
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// release runs the script in dir and returns its output and exit code.
func release(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"scripts/release.sh"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=", "GOFLAGS=",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

// requires reports the version at which dir's go.mod requires path.
func requires(t *testing.T, dir, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && f[0] == path && strings.HasPrefix(f[1], "v") {
			return f[1]
		}
	}
	return ""
}

// TestDryRunChangesNothing: without --apply the script prints each edit
// and each tag, root first, and leaves the tree, the tags and the remote
// as they were; bad versions are refused before anything is printed.
func TestDryRunChangesNothing(t *testing.T) {
	dir := repo(t)
	head := git(t, dir, "rev-parse", "HEAD")
	out, code := release(t, dir, "v0.2.0")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	for _, d := range nested {
		if want := "go mod edit -require=" + root + "@v0.2.0 " + d + "/go.mod"; !strings.Contains(out, want) {
			t.Errorf("dry run does not print %q:\n%s", want, out)
		}
	}
	last := -1
	for _, d := range tagged {
		i := strings.Index(out, "git tag -a "+tag(d, "v0.2.0")+" ")
		if i < 0 || i < last {
			t.Errorf("tag %s missing or out of order (root first):\n%s", tag(d, "v0.2.0"), out)
		}
		last = i
	}
	if strings.Contains(out, "examples/v0.2.0") {
		t.Errorf("examples is tagged:\n%s", out)
	}
	if s := git(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("dry run changed the tree:\n%s", s)
	}
	if tags := git(t, dir, "tag"); tags != "" || git(t, dir, "rev-parse", "HEAD") != head {
		t.Errorf("dry run tagged or committed: tags %q", tags)
	}

	for _, args := range [][]string{{"0.2.0"}, {"v0.2"}, {}, {"--apply", "v2.0.0"}, {"--force", "v0.2.0"}} {
		out, code := release(t, dir, args...)
		if code != 2 || strings.Contains(out, "git tag") {
			t.Errorf("release.sh %q: exit %d, want 2 and nothing done:\n%s", args, code, out)
		}
	}
}

// TestPushTagsEveryModule: --push commits the nested modules' requirements
// of the root at the version, tags that commit for every module, and
// pushes it and the tags; the same or an older version is refused after.
func TestPushTagsEveryModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every module; skipped with -short")
	}
	dir := repo(t)
	out, code := release(t, dir, "--push", "v0.2.0")
	if code != 0 {
		t.Fatalf("release --push: exit %d\n%s", code, out)
	}
	head := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
	for _, d := range nested {
		if got := requires(t, filepath.Join(dir, d), root); got != "v0.2.0" {
			t.Errorf("%s requires the root at %q, want v0.2.0", d, got)
		}
	}
	if got := requires(t, filepath.Join(dir, "examples"), root+"/adapters/qelosgin"); got != "v0.2.0" {
		t.Errorf("examples requires qelosgin at %q, want v0.2.0", got)
	}
	remote := strings.TrimSpace(git(t, dir, "remote", "get-url", "origin"))
	for _, d := range tagged {
		name := tag(d, "v0.2.0")
		if got := strings.TrimSpace(git(t, dir, "rev-list", "-n", "1", name)); got != head {
			t.Errorf("tag %s points at %s, want the release commit %s", name, got, head)
		}
		if got := strings.TrimSpace(git(t, remote, "rev-list", "-n", "1", name)); got != head {
			t.Errorf("remote tag %s points at %q, want %s", name, got, head)
		}
	}
	if s := git(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("tree not clean after the release:\n%s", s)
	}
	b, err := os.ReadFile(filepath.Join(dir, "adapters/qelosgin/go.mod"))
	if err != nil || !strings.Contains(string(b), "replace "+root+" => ../..") {
		t.Errorf("the replace to the local tree is gone from adapters/qelosgin/go.mod (%v)", err)
	}
	for _, v := range []string{"v0.2.0", "v0.1.9"} {
		if out, code := release(t, dir, v); code == 0 {
			t.Errorf("release.sh %s after v0.2.0: exit 0, want a refusal:\n%s", v, out)
		}
	}
}

// TestBuildOutputsIgnored: the binary `go build` writes for each main
// package, beside it or in the root when built from there, is ignored by
// git, so a build leaves the tree clean; and no tracked file is a binary.
func TestBuildOutputsIgnored(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	top := strings.TrimSpace(git(t, ".", "rev-parse", "--show-toplevel"))
	var outputs []string
	err := filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte("\npackage main\n")) && !bytes.HasPrefix(b, []byte("package main\n")) {
			return nil
		}
		dir, _ := filepath.Rel(top, filepath.Dir(path))
		name := filepath.Base(dir)
		outputs = append(outputs, filepath.Join(dir, name))
		if fi, err := os.Stat(filepath.Join(top, name)); err != nil || !fi.IsDir() {
			outputs = append(outputs, name) // built from the root
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(outputs) == 0 {
		t.Fatal("no main package found")
	}
	for _, p := range outputs {
		cmd := exec.Command("git", "check-ignore", "-q", "--no-index", p)
		cmd.Dir = top
		if err := cmd.Run(); err != nil {
			t.Errorf("%s, a go build output, is not ignored: add /%s to .gitignore", p, p)
		}
	}
	for _, f := range strings.Split(strings.TrimSpace(git(t, top, "ls-files")), "\n") {
		b, err := os.ReadFile(filepath.Join(top, f))
		if err == nil && bytes.HasPrefix(b, []byte("\x7fELF")) {
			t.Errorf("%s is a tracked binary: remove it (git rm --cached) and ignore it", f)
		}
	}
}
