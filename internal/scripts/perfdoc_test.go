package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPerfdocTables: perfdoc.sh turns saved benchmark output into tables
// of medians (of three runs given out of order), each ratio to the
// baseline's median, and names the machine from the output.
func TestPerfdocTables(t *testing.T) {
	top := strings.TrimSpace(git(t, ".", "rev-parse", "--show-toplevel"))
	fixture, err := filepath.Abs("testdata/bench.txt")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "scripts/perfdoc.sh", "--from", fixture, "--stdout")
	cmd.Dir = top
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("perfdoc.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"on Test CPU 9000, ",
		"median of 3 run(s)",
		"| `BenchmarkBaselineJWTVerify` | 200 | 1.000× | 4952 | 98 |",
		"| `BenchmarkWarmCookiePair` | 20 | 0.100× | 368 | 2 |",
		"| `BenchmarkHandlerColdPair` | 500 | 2.500× | 12232 | 123 |",
		"| `mw/bare` | 0.703 |",
		"| `mw-req/s` | 18358 |",
		"| `first-sight/op` | 0.241 |",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("perfdoc.sh output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "BenchmarkWorkloadZipf` |") {
		t.Errorf("the workload is in the ratio table:\n%s", out)
	}
}

// TestPerfdocKeepsProse: the script rewrites only what lies between the
// markers of docs/PERFORMANCE.md, and refuses a doc without them.
func TestPerfdocKeepsProse(t *testing.T) {
	dir := repo(t)
	doc := filepath.Join(dir, "docs/PERFORMANCE.md")
	before, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	fixture, _ := filepath.Abs("testdata/bench.txt")
	cmd := exec.Command("bash", "scripts/perfdoc.sh", "--from", fixture)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("perfdoc.sh: %v\n%s", err, out)
	}
	after, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	outside := func(s string) string {
		b := strings.Index(s, "<!-- perfdoc:begin -->")
		e := strings.Index(s, "<!-- perfdoc:end -->")
		if b < 0 || e < b {
			t.Fatalf("markers missing:\n%s", s)
		}
		return s[:b] + s[e:]
	}
	if outside(string(before)) != outside(string(after)) {
		t.Errorf("the prose outside the markers changed")
	}
	if !strings.Contains(string(after), "| `BenchmarkWarmCookiePair` | 20 | 0.100× |") {
		t.Errorf("the generated section was not written:\n%s", after)
	}

	if err := os.WriteFile(doc, []byte("# Performance\n\nno markers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("bash", "scripts/perfdoc.sh", "--from", fixture)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "perfdoc:begin") {
		t.Errorf("a doc without markers: err %v, output %s", err, out)
	}
}
