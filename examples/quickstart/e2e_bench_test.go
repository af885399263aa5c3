//go:build unix

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// BenchmarkWhoamiEndToEnd measures what the middleware costs a real server
// per request: the quickstart's /whoami served over loopback by an
// http.Server in a child process (so the client's CPU is not counted),
// once through mw.Handler and once without it, with the same cookie bytes,
// in alternating rounds of the same run. The child's CPU (getrusage: user
// plus system) is read before and after each round.
//
//	go test -run '^$' -bench WhoamiEndToEnd -benchtime=60000x ./quickstart
//
// With QUICKSTART_E2E_CPUPROFILE=file the child writes a CPU profile of
// the measured rounds to file.
//
// Metrics: bare-cpu-ns/req, mw-cpu-ns/req, and extra-% (the middleware's
// extra CPU per request as a percentage of the bare request's). Pin the
// child with taskset for steadier numbers.
func BenchmarkWhoamiEndToEnd(b *testing.B) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestWhoamiEndToEndChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), "QUICKSTART_E2E_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// The child prints: <bare url> <middleware url> <cookie header>.
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("child: %v", err)
	}
	f := strings.SplitN(strings.TrimSpace(line), " ", 3)
	if len(f) != 3 {
		b.Fatalf("child said %q", line)
	}
	bare, withMW, cookie := f[0], f[1], f[2]

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	get := func(url string) []byte {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
		}
		return body
	}
	cpu := func(base string) time.Duration {
		n, err := strconv.ParseInt(string(get(base+"/__cpu")), 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		return time.Duration(n)
	}
	if body := get(withMW + "/whoami"); !bytes.Contains(body, []byte(qelostest.AdminEmail)) {
		b.Fatalf("the middleware did not identify the session: %s", body)
	}
	if body := get(bare + "/whoami"); !bytes.Contains(body, []byte(`"user":null`)) {
		b.Fatalf("the bare server identified someone: %s", body)
	}

	// Rounds alternate bare and middleware (ABBA, cancelling drift); the
	// medians of the rounds are reported, so a burst of load from another
	// process on a shared machine skews one round, not the result.
	const rounds = 20
	per := max(b.N/rounds, 1)
	var bareNs, mwNs []float64
	measure := func(base string) float64 {
		before := cpu(base)
		for range per {
			get(base + "/whoami")
		}
		return float64((cpu(base) - before).Nanoseconds()) / float64(per)
	}
	b.ResetTimer()
	for i := range rounds {
		if i%2 == 0 {
			bareNs = append(bareNs, measure(bare))
			mwNs = append(mwNs, measure(withMW))
		} else {
			mwNs = append(mwNs, measure(withMW))
			bareNs = append(bareNs, measure(bare))
		}
	}
	b.StopTimer()
	get(bare + "/__stop")
	bm, mm := median(bareNs), median(mwNs)
	b.ReportMetric(bm, "bare-cpu-ns/req")
	b.ReportMetric(mm, "mw-cpu-ns/req")
	b.ReportMetric(mm-bm, "extra-cpu-ns/req")
	b.ReportMetric(100*(mm-bm)/bm, "extra-%")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

// TestWhoamiEndToEndChild is the child process of BenchmarkWhoamiEndToEnd:
// the quickstart's routes behind one middleware, served twice, bare and
// wrapped. It is skipped unless the benchmark started it.
func TestWhoamiEndToEndChild(t *testing.T) {
	if os.Getenv("QUICKSTART_E2E_CHILD") == "" {
		t.Skip("run by BenchmarkWhoamiEndToEnd")
	}
	if path := os.Getenv("QUICKSTART_E2E_CPUPROFILE"); path != "" {
		// A profile of the whole server path, for finding what the
		// middleware costs beyond its microbenchmark.
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	demo := qelostest.New(qelostest.Options{AccessTTL: time.Hour})
	defer demo.Close()
	mw, err := middleware.New(middleware.Config{
		AppURL:     demo.URL,
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)), // Info, as the quickstart's
		Cookie:     middleware.CookieConfig{Secure: middleware.SecureNever},
	})
	if err != nil {
		t.Fatal(err)
	}
	app := routes(mw)
	serve := func(h http.Handler) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /__cpu", func(w http.ResponseWriter, _ *http.Request) {
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			fmt.Fprint(w, ru.Utime.Nano()+ru.Stime.Nano())
		})
		mux.HandleFunc("GET /__stop", func(http.ResponseWriter, *http.Request) { pprof.StopCPUProfile() })
		mux.Handle("/", h)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 90 * time.Second, IdleTimeout: 120 * time.Second}
		go srv.Serve(ln)
		return "http://" + ln.Addr().String()
	}
	bare, withMW := serve(app), serve(mw.Handler(app))

	// Sign in through the app, as a browser would, for the cookie bytes.
	resp, err := http.Post(withMW+"/auth/signin", "application/json",
		strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookies []string
	for _, c := range resp.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	if len(cookies) == 0 {
		t.Fatalf("sign-in set no cookie (%d)", resp.StatusCode)
	}
	fmt.Printf("%s %s %s\n", bare, withMW, strings.Join(cookies, "; "))
	select {} // until the benchmark kills it
}
