// Command benchclient is the Go side of the side-by-side benchmark (bench/run.ts, issue 5): a
// real rpcx v1.9.4 client (client.NewClient, one per connection) doing closed-loop calls at a
// given concurrency for a given time against an rpcx server, every reply verified.
//
// It prints one JSON object: calls and errors in the measured window (after -warmup), the
// window's length, latency percentiles from an HDR histogram, its own CPU time over the window
// (getrusage RUSAGE_SELF) and, with -server-pid, the server's (utime+stime from
// /proc/<pid>/stat). Run it with GOMAXPROCS=1, as the harness does.
//
// With -pending N it measures memory instead: N calls sent to a server that never replies
// (the harness's black hole), then this process's RSS.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/rpcx-node/interop/internal/procstat"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
	"google.golang.org/protobuf/proto"

	"github.com/rpcx-node/interop/internal/pb"
	"github.com/rpcx-node/interop/internal/values"
)

type latency struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

type result struct {
	Calls       int64   `json:"calls"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"firstError,omitempty"`
	DurationNs  int64   `json:"durationNs"`
	LatencyUs   latency `json:"latencyUs"`
	ClientCPUUs float64 `json:"clientCpuUs"`
	ServerCPUUs float64 `json:"serverCpuUs"`
	RSSBytes    int64   `json:"rssBytes,omitempty"`
	BaseRSS     int64   `json:"baseRssBytes,omitempty"`
	Pending     int     `json:"pending,omitempty"`
}

func main() {
	addr := flag.String("addr", "", "server host:port")
	kind := flag.String("kind", "raw100", "payload: raw100 (Echo.Bytes, SerializeNone) or benchmark581 (Bench.Echo, protobuf)")
	conc := flag.Int("c", 16, "calls in flight (closed loop), spread over -conns connections")
	conns := flag.Int("conns", 1, "connections (one client.Client each)")
	warmup := flag.Duration("warmup", time.Second, "warm-up, not measured")
	duration := flag.Duration("duration", 3*time.Second, "measured window")
	serverPid := flag.Int("server-pid", 0, "read the server's CPU time from /proc/<pid>/stat over the window")
	pending := flag.Int("pending", 0, "memory mode: send this many calls that are never answered, then report RSS")
	flag.Parse()
	if err := run(*addr, *kind, *conc, *conns, *warmup, *duration, *serverPid, *pending); err != nil {
		fmt.Fprintln(os.Stderr, "benchclient:", err)
		os.Exit(1)
	}
}

type payload struct {
	path, method string
	st           protocol.SerializeType
	args         any
	newReply     func() any
	verify       func(reply any) error
}

func makePayload(kind string) (*payload, error) {
	switch kind {
	case "raw100":
		data := bytes.Repeat([]byte("0123456789"), 10)
		return &payload{
			path: "Echo", method: "Bytes", st: protocol.SerializeNone, args: data,
			newReply: func() any { return new([]byte) },
			verify: func(r any) error {
				if !bytes.Equal(*r.(*[]byte), data) {
					return errors.New("raw100: reply differs from the request")
				}
				return nil
			},
		}, nil
	case "benchmark581":
		m := values.BenchmarkMessage()
		if b, err := proto.Marshal(m); err != nil || len(b) != 581 {
			return nil, fmt.Errorf("BenchmarkMessage: %d bytes, %v", len(b), err)
		}
		return &payload{
			path: "Bench", method: "Echo", st: protocol.ProtoBuffer, args: m,
			newReply: func() any { return new(pb.BenchmarkMessage) },
			verify: func(r any) error {
				x := r.(*pb.BenchmarkMessage)
				if x.GetField1() != "OK" || x.GetField2() != 100 {
					return fmt.Errorf("benchmark581: reply field1=%q field2=%d", x.GetField1(), x.GetField2())
				}
				return nil
			},
		}, nil
	}
	return nil, fmt.Errorf("unknown -kind %q", kind)
}

func connect(addr string, st protocol.SerializeType) (client.RPCClient, error) {
	opt := client.DefaultOption
	opt.SerializeType = st
	opt.Retries = 0
	opt.ConnectTimeout = 5 * time.Second
	c := client.NewClient(opt)
	if err := c.Connect("tcp", addr); err != nil {
		return nil, err
	}
	return c, nil
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func run(addr, kind string, conc, conns int, warmup, duration time.Duration, serverPid, pending int) error {
	p, err := makePayload(kind)
	if err != nil {
		return err
	}
	if conns < 1 || conc < conns {
		return errors.New("need 1 <= -conns <= -c")
	}
	clients := make([]client.RPCClient, conns)
	for i := range clients {
		if clients[i], err = connect(addr, p.st); err != nil {
			return err
		}
	}
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	if pending > 0 {
		return runPending(clients[0], p, pending)
	}

	var (
		measuring atomic.Bool
		stop      atomic.Bool
		calls     atomic.Int64
		errs      atomic.Int64
		mu        sync.Mutex
		firstErr  string
		hist      = hdrhistogram.New(1, 60_000_000, 3) // µs
		wg        sync.WaitGroup
	)
	fail := func(e error) {
		errs.Add(1)
		mu.Lock()
		if firstErr == "" {
			firstErr = e.Error()
		}
		mu.Unlock()
	}
	ctx := context.Background()
	for w := 0; w < conc; w++ {
		c := clients[w%conns]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				reply := p.newReply()
				t0 := time.Now()
				err := c.Call(ctx, p.path, p.method, p.args, reply)
				if err == nil {
					err = p.verify(reply)
				}
				if !measuring.Load() {
					if err != nil && !stop.Load() {
						fail(err)
					}
					continue
				}
				us := time.Since(t0).Microseconds()
				if err != nil {
					fail(err)
					continue
				}
				calls.Add(1)
				mu.Lock()
				_ = hist.RecordValue(max(us, 1))
				mu.Unlock()
			}
		}()
	}
	time.Sleep(warmup)
	cpu0, srv0 := procstat.SelfUs(), procstat.PidUs(serverPid)
	start := time.Now()
	measuring.Store(true)
	time.Sleep(duration)
	measuring.Store(false)
	n := calls.Load()
	elapsed := time.Since(start)
	cpu1, srv1 := procstat.SelfUs(), procstat.PidUs(serverPid)
	stop.Store(true)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		fail(errors.New("calls still in flight 10 s after the window"))
	}
	mu.Lock()
	defer mu.Unlock()
	r := result{
		Calls: n, Errors: errs.Load(), FirstError: firstErr, DurationNs: elapsed.Nanoseconds(),
		LatencyUs: latency{
			P50: float64(hist.ValueAtQuantile(50)), P99: float64(hist.ValueAtQuantile(99)),
			P999: float64(hist.ValueAtQuantile(99.9)), Max: float64(hist.Max()), Mean: hist.Mean(),
		},
		ClientCPUUs: cpu1 - cpu0,
		ServerCPUUs: srv1 - srv0,
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// runPending sends n calls that the server never answers (client.Go, as Call does inside) and
// reports the RSS once they are all written, next to the RSS before them.
func runPending(c client.RPCClient, p *payload, n int) error {
	runtime.GC()
	base := rssBytes()
	done := make(chan *client.Call, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < n; i++ {
		c.Go(ctx, p.path, p.method, p.args, p.newReply(), done)
	}
	time.Sleep(500 * time.Millisecond) // let the writes reach the socket
	runtime.GC()
	r := result{RSSBytes: rssBytes(), BaseRSS: base, Pending: n}
	if len(done) > 0 {
		call := <-done
		r.Errors = int64(len(done)) + 1
		if call.Error != nil {
			r.FirstError = call.Error.Error()
		}
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}
