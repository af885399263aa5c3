//go:build unix

package middleware_test

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// The workload: how many distinct sessions exist, and the exponent of the
// Zipf distribution they are requested with (the k-th most active session
// is requested in proportion to 1/k^s).
const (
	workloadSessions = 1_000_000
	workloadZipfS    = 1.1
	workloadRounds   = 10 // pairs of rounds, middleware and bare, alternating
)

// BenchmarkWorkloadZipf measures what the middleware costs a real server
// when most sessions are not in its cache: a million distinct sessions,
// requested with a Zipf (s = 1.1) distribution, end to end over loopback
// HTTP with keep-alive, on one core (GOMAXPROCS 1). The same requests go
// to two in-process http.Servers, one with the middleware (a default
// Config) and one with the bare handler, in alternating rounds of the same
// run (ABBA, cancelling drift); the medians of the rounds are reported.
// Each session is sealed the first time the sequence draws it, with the
// timer stopped, so only the sessions a run requests exist.
//
//	go test -run '^$' -bench WorkloadZipf -benchtime=100000x ./middleware
//
// b.N is the number of requests each server gets. The cold share depends
// on it (a longer run has seen more of the tail); compare runs of the same
// -benchtime. Metrics:
//
//   - mw-req/s, bare-req/s: requests per second of each server;
//   - mw/bare: the middleware's requests per second as a fraction of the
//     bare handler's (the median over pairs of adjacent rounds);
//   - mw-cpu-ns/req, bare-cpu-ns/req: the process's CPU (user plus system)
//     per request; the client runs in the same process, so both include its
//     share, which is the same for both;
//   - mw/bare-cpu: the middleware's CPU per request as a multiple of the
//     bare handler's (the median over pairs of adjacent rounds), steadier
//     than mw/bare on a machine other processes load;
//   - first-sight/op: the share of requests whose session the middleware
//     had never seen, each of them a cold open (requests whose session
//     the cache evicted are cold too and are not counted here);
//   - hit-rate, cached-sessions: CacheStats at the end of the run: the
//     share of requests the session cache answered (evictions included)
//     and the sessions it holds.
func BenchmarkWorkloadZipf(b *testing.B) {
	prev := runtime.GOMAXPROCS(1)
	b.Cleanup(func() { runtime.GOMAXPROCS(prev) })

	q := qelostest.New(qelostest.Options{AccessTTL: time.Hour})
	b.Cleanup(q.Close)
	mw, err := middleware.New(middleware.Config{
		AppURL:     q.URL,
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := middleware.UserFrom(r.Context()); ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	withMW := workloadServer(b, mw.Handler(app), http.StatusNoContent)
	bare := workloadServer(b, app, http.StatusOK)

	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 1)), workloadZipfS, 1, workloadSessions-1)
	sessions := make([]string, workloadSessions) // Cookie headers, sealed on first draw
	firstSights := 0
	seq := make([]uint64, 0, max(b.N/workloadRounds, 1))
	next := func(n int) []uint64 {
		seq = seq[:0]
		for range n {
			k := zipf.Uint64()
			if sessions[k] == "" {
				access, refreshTok, err := q.IssuePair(qelostest.AdminEmail, "")
				if err != nil {
					b.Fatal(err)
				}
				sa, sr := middleware.SealPair(mw, access, refreshTok, nil)
				sessions[k] = accessCookie + "=" + sa + "; " + refreshCookie + "=" + sr
				firstSights++
			}
			seq = append(seq, k)
		}
		return seq
	}

	var mwRate, bareRate, ratio, mwCPU, bareCPU, cpuRatio []float64
	b.ResetTimer()
	for i := range workloadRounds {
		n := b.N / workloadRounds // the rounds share b.N requests
		if i < b.N%workloadRounds {
			n++
		}
		if n == 0 {
			break
		}
		b.StopTimer()
		round := next(n)
		b.StartTimer()
		var mr, br, mc, bc float64
		if i%2 == 0 {
			mr, mc = withMW.run(b, round, sessions)
			br, bc = bare.run(b, round, sessions)
		} else {
			br, bc = bare.run(b, round, sessions)
			mr, mc = withMW.run(b, round, sessions)
		}
		mwRate, bareRate, ratio = append(mwRate, mr), append(bareRate, br), append(ratio, mr/br)
		mwCPU, bareCPU, cpuRatio = append(mwCPU, mc), append(bareCPU, bc), append(cpuRatio, mc/bc)
	}
	b.StopTimer()
	b.ReportMetric(median(mwRate), "mw-req/s")
	b.ReportMetric(median(bareRate), "bare-req/s")
	b.ReportMetric(median(ratio), "mw/bare")
	b.ReportMetric(median(mwCPU), "mw-cpu-ns/req")
	b.ReportMetric(median(bareCPU), "bare-cpu-ns/req")
	b.ReportMetric(median(cpuRatio), "mw/bare-cpu")
	b.ReportMetric(float64(firstSights)/float64(b.N), "first-sight/op")
	st := mw.CacheStats()
	b.ReportMetric(st.HitRate(), "hit-rate")
	b.ReportMetric(float64(st.Sessions), "cached-sessions")
}

// workload is one in-process server on loopback and a keep-alive client
// of it.
type workload struct {
	url    string
	client *http.Client
	want   int // the status every request must get
}

func workloadServer(b *testing.B, h http.Handler, want int) *workload {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	return &workload{url: "http://" + ln.Addr().String() + "/dashboard", client: &http.Client{Transport: tr}, want: want}
}

// run sends one request per index of seq, with that session's cookies,
// and returns the requests per second and the process CPU per request.
func (w *workload) run(b *testing.B, seq []uint64, sessions []string) (perSecond, cpuNs float64) {
	b.Helper()
	cpu0, t0 := processCPU(b), time.Now()
	for _, k := range seq {
		req, err := http.NewRequest(http.MethodGet, w.url, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Cookie", sessions[k])
		resp, err := w.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != w.want {
			b.Fatalf("GET %s: status %d, want %d (session %d)", w.url, resp.StatusCode, w.want, k)
		}
	}
	elapsed, cpu := time.Since(t0), processCPU(b)-cpu0
	n := float64(len(seq))
	return n / elapsed.Seconds(), float64(cpu.Nanoseconds()) / n
}

// processCPU is the CPU time, user plus system, this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// median is the median of xs.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}
