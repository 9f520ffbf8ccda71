// Command httpload is the HTTP load generator of the gateway benchmark (bench/gateway.ts, issue
// 12): N keep-alive HTTP/1.1 connections, closed loop (each connection one request at a time, no
// pipelining), for a fixed window after a warm-up, against the rpcx HTTP gateway or the JSON-RPC
// 2.0 endpoint of a server (Go rpcx's or the TS one: the requests and the checks are the same).
//
// Requests are written as prebuilt bytes on a net.Conn and answers read with net/http's own
// parser (http.ReadResponse), so the generator spends little CPU and is not the limit it was
// when the load came from a Node HTTP client in the benchmark process.
//
//   - mode gateway: POST /Arith with X-RPCX-ServiceMethod: Mul and X-RPCX-SerializeType: 1
//     (JSON), body {"A":a,"B":4}; the answer must be 200 with body {"C":4a} and no
//     X-Rpcx-Messagestatustype header.
//   - mode jsonrpc: POST / with X-JSONRPC-2.0: true, body
//     {"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":a,"B":4},"id":n}; the answer must be
//     200 with body {"jsonrpc":"2.0","result":{"C":4a},"id":n}.
//
// a varies per request (0..999), n counts per connection. A wrong answer counts as an error. It
// prints one JSON line: requests and errors in the window, seconds, req/s, latency percentiles
// (µs) and, with -server-pid, the server's CPU time over the window (utime+stime from
// /proc/<pid>/stat) and per request, plus its own CPU time (getrusage).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/rpcx-node/interop/internal/procstat"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

type result struct {
	Mode        string  `json:"mode"`
	Conns       int     `json:"conns"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"firstError,omitempty"`
	Seconds     float64 `json:"seconds"`
	ReqPerSec   float64 `json:"reqPerSec"`
	P50Us       float64 `json:"p50Us"`
	P99Us       float64 `json:"p99Us"`
	ServerCPUUs float64 `json:"serverCpuUs"`
	ServerUsReq float64 `json:"serverCpuUsPerReq"`
	LoadCPUUs   float64 `json:"loadCpuUs"`
}

func main() {
	addr := flag.String("addr", "", "server host:port")
	mode := flag.String("mode", "gateway", "gateway (X-RPCX-* headers, JSON) or jsonrpc (JSON-RPC 2.0)")
	conns := flag.Int("c", 16, "keep-alive connections, one request in flight on each")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "warm-up, not measured")
	duration := flag.Duration("duration", 3*time.Second, "measured window")
	serverPid := flag.Int("server-pid", 0, "read the server's CPU time from /proc/<pid>/stat over the window")
	flag.Parse()
	if *mode != "gateway" && *mode != "jsonrpc" {
		fmt.Fprintln(os.Stderr, "httpload: -mode must be gateway or jsonrpc")
		os.Exit(2)
	}
	if *addr == "" || *conns < 1 {
		fmt.Fprintln(os.Stderr, "httpload: need -addr and -c >= 1")
		os.Exit(2)
	}
	r, err := run(*addr, *mode, *conns, *warmup, *duration, *serverPid)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpload:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

// request builds the bytes of request n (a = n % 1000) and the body the answer must have.
func request(mode, host string, n int64) (req []byte, want []byte) {
	a := n % 1000
	args := `{"A":` + strconv.FormatInt(a, 10) + `,"B":4}`
	c := `{"C":` + strconv.FormatInt(4*a, 10) + `}`
	var b strings.Builder
	if mode == "gateway" {
		b.WriteString("POST /Arith HTTP/1.1\r\nHost: " + host + "\r\nX-RPCX-ServiceMethod: Mul\r\nX-RPCX-SerializeType: 1\r\n")
		b.WriteString("Content-Length: " + strconv.Itoa(len(args)) + "\r\n\r\n" + args)
		return []byte(b.String()), []byte(c)
	}
	id := strconv.FormatInt(n, 10)
	body := `{"jsonrpc":"2.0","method":"Arith.Mul","params":` + args + `,"id":` + id + `}`
	b.WriteString("POST / HTTP/1.1\r\nHost: " + host + "\r\nX-JSONRPC-2.0: true\r\n")
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	return []byte(b.String()), []byte(`{"jsonrpc":"2.0","result":` + c + `,"id":` + id + `}`)
}

// check reads one answer and compares it with what Go rpcx answers.
func check(br *bufio.Reader, mode string, want []byte, buf *bytes.Buffer) error {
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = io.Copy(buf, res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("status %d, body %q", res.StatusCode, buf.Bytes())
	}
	if res.Close {
		return errors.New("the server closed the connection")
	}
	if !bytes.Equal(buf.Bytes(), want) {
		return fmt.Errorf("body %q, want %q", buf.Bytes(), want)
	}
	if mode == "gateway" && (res.Header.Get("X-Rpcx-Messagestatustype") != "" || res.Header.Get("X-Rpcx-Servicemethod") != "Mul") {
		return fmt.Errorf("headers %v", res.Header)
	}
	return nil
}

func run(addr, mode string, conns int, warmup, duration time.Duration, serverPid int) (*result, error) {
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		requests  atomic.Int64
		errCount  atomic.Int64
		firstErr  atomic.Value
		mu        sync.Mutex
		hist      = hdrhistogram.New(1, 60_000_000, 3) // µs
		wg        sync.WaitGroup
	)
	fail := func(err error) {
		if measuring.Load() {
			errCount.Add(1)
		}
		firstErr.CompareAndSwap(nil, err.Error())
	}
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func(c net.Conn, id int) {
			defer wg.Done()
			defer c.Close()
			local := hdrhistogram.New(1, 60_000_000, 3)
			br := bufio.NewReaderSize(c, 16<<10)
			var buf bytes.Buffer
			for n := int64(id) * 1_000_003; !stop.Load(); n++ {
				req, want := request(mode, addr, n)
				t0 := time.Now()
				if _, err := c.Write(req); err != nil {
					fail(err)
					return
				}
				if err := check(br, mode, want, &buf); err != nil {
					fail(err)
					return
				}
				if measuring.Load() && !stop.Load() {
					requests.Add(1)
					_ = local.RecordValue(time.Since(t0).Microseconds())
				}
			}
			mu.Lock()
			hist.Merge(local)
			mu.Unlock()
		}(c, i)
	}
	time.Sleep(warmup)
	cpu0, self0 := procstat.PidUs(serverPid), procstat.SelfUs()
	t0 := time.Now()
	measuring.Store(true)
	time.Sleep(duration)
	stop.Store(true)
	elapsed := time.Since(t0).Seconds()
	cpu1, self1 := procstat.PidUs(serverPid), procstat.SelfUs()
	wg.Wait()
	r := &result{Mode: mode, Conns: conns, Requests: requests.Load(), Errors: errCount.Load(), Seconds: elapsed, LoadCPUUs: self1 - self0}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	r.ReqPerSec = float64(r.Requests) / elapsed
	r.P50Us = float64(hist.ValueAtQuantile(50))
	r.P99Us = float64(hist.ValueAtQuantile(99))
	if serverPid > 0 {
		r.ServerCPUUs = cpu1 - cpu0
		if r.Requests > 0 {
			r.ServerUsReq = r.ServerCPUUs / float64(r.Requests)
		}
	}
	return r, nil
}
