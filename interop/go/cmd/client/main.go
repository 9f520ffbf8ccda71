// Command client is a Go rpcx v1.9.4 client (client.XClient and
// client.NewBidirectionalXClient) that runs the named interop cases of
// /work/shared/interop-cases.md (GT column) against a server address and
// prints one JSON line per case. See README.md.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	rlog "github.com/smallnest/rpcx/log"
)

// env is the run configuration shared by all cases.
type env struct {
	key     string // rpcx server key, "network@address"
	network string
	address string

	auth             string        // -auth: token sent with every call ("" = none)
	authError        string        // -auth-error: expected rejection text
	readTimeout      time.Duration // -read-timeout: the server's idle read timeout (0 = unknown)
	maxMessageLength int           // -max-message-length: the server's limit (0 = unknown)
	tlsConfig        *tls.Config   // -tls-ca
	timeout          time.Duration // -timeout per case
	inflight         int           // -inflight: calls of graceful_shutdown_in_flight
	inflightSleep    time.Duration // -inflight-sleep
	stderr           io.Writer
}

// caseDef is one named case.
type caseDef struct {
	name  string
	needs string // server setup the case needs, for -list -v and the README
	run   func(t *T) error
}

var (
	casesMu  sync.Mutex
	allCases []caseDef
)

func register(cs ...caseDef) {
	casesMu.Lock()
	defer casesMu.Unlock()
	allCases = append(allCases, cs...)
}

// caseOrder is the order of the table in interop-cases.md.
var caseOrder = []string{
	"empty_payload", "arith_msgpack", "arith_json", "arith_protobuf", "arith_thrift",
	"raw_all_bytes", "large_payload", "int64_extremes", "unicode_strings", "time_values",
	"nested_and_nil", "gzip_above_threshold", "gzip_at_threshold",
	"gzip_reply_needs_compressed_request", "metadata_round_trip", "metadata_many_entries",
	"metadata_non_utf8", "service_error_text", "unknown_service", "unknown_method", "bad_args",
	"handler_throws", "oneway", "heartbeat_keeps_idle_alive", "heartbeat_echo_exact",
	"deadline_propagation", "timeout_on_sleeping_server", "concurrent_out_of_order",
	"push_basic", "push_burst_in_order", "push_before_reply", "push_to_closed_connection",
	"push_broadcast", "auth_ok", "auth_rejected_closes", "graceful_shutdown_in_flight",
	"max_message_length", "garbage_bytes", "unix_socket", "tls",
	"server_calls_client", "push_by_user", "watch_long_poll",
}

func sortedCases() []caseDef {
	casesMu.Lock()
	defer casesMu.Unlock()
	pos := map[string]int{}
	for i, n := range caseOrder {
		pos[n] = i
	}
	out := append([]caseDef(nil), allCases...)
	sort.SliceStable(out, func(i, j int) bool {
		pi, oki := pos[out[i].name]
		pj, okj := pos[out[j].name]
		if oki != okj {
			return oki
		}
		if !oki {
			return out[i].name < out[j].name
		}
		return pi < pj
	})
	return out
}

// result is one output line.
type result struct {
	Case    string         `json:"case"`
	OK      bool           `json:"ok"`
	Ms      int64          `json:"ms"`
	Skipped string         `json:"skipped,omitempty"`
	Error   string         `json:"error,omitempty"`
	Extra   map[string]any `json:"-"`
}

func (r result) MarshalJSON() ([]byte, error) {
	m := map[string]any{"case": r.Case, "ok": r.OK, "ms": r.Ms}
	if r.Skipped != "" {
		m["skipped"] = r.Skipped
	}
	if r.Error != "" {
		m["error"] = r.Error
	}
	for k, v := range r.Extra {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	// Stable key order: case, ok, ms, skipped, error, then extras sorted.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := map[string]int{"case": 0, "ok": 1, "ms": 2, "skipped": 3, "error": 4}
	sort.Slice(keys, func(i, j int) bool {
		ri, oki := rank[keys[i]]
		rj, okj := rank[keys[j]]
		switch {
		case oki && okj:
			return ri < rj
		case oki != okj:
			return oki
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(m[k])
		if err != nil {
			vb, _ = json.Marshal(fmt.Sprint(m[k]))
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// skipError marks a case as skipped (ok:true, "skipped": reason).
type skipError struct{ reason string }

func (s skipError) Error() string { return "skipped: " + s.reason }

func skip(format string, a ...any) error { return skipError{fmt.Sprintf(format, a...)} }

func failf(format string, a ...any) error { return fmt.Errorf(format, a...) }

// runCase runs one case with a watchdog and turns panics into failures.
func runCase(e *env, c caseDef) result {
	t := newT(e, c.name)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic: %v", p)
			}
		}()
		done <- c.run(t)
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(e.timeout):
		err = fmt.Errorf("case did not finish within -timeout %s", e.timeout)
	}
	t.cleanup()
	r := result{Case: c.name, Ms: time.Since(start).Milliseconds(), Extra: t.extra()}
	var se skipError
	switch {
	case err == nil:
		r.OK = true
	case errors.As(err, &se):
		r.OK = true
		r.Skipped = se.reason
	default:
		r.Error = truncate(err.Error(), 4000)
	}
	return r
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("...(%d bytes more)", len(s)-n)
}

var loggerOnce sync.Once

func main() { os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr)) }

func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "server key network@address: tcp@127.0.0.1:PORT, unix@/path.sock, http@127.0.0.1:PORT, ws@127.0.0.1:PORT, wss@127.0.0.1:PORT")
	caseList := fs.String("case", "", "comma-separated case names (default: all)")
	list := fs.Bool("list", false, "print the case names and exit")
	auth := fs.String("auth", "", "server's __AUTH token: sent with every call; enables auth_ok and auth_rejected_closes")
	authError := fs.String("auth-error", "invalid token", "error text the server sends for a wrong token")
	readTimeout := fs.Duration("read-timeout", 0, "the server's read (idle) timeout; enables heartbeat_keeps_idle_alive")
	maxLen := fs.Int("max-message-length", 0, "the server's max frame totalLen; enables max_message_length")
	tlsCA := fs.String("tls-ca", "", "PEM CA file: connect with TLS; enables the tls case")
	tlsName := fs.String("tls-server-name", "", "TLS server name (default: the address host)")
	timeout := fs.Duration("timeout", 30*time.Second, "per-case time limit")
	inflight := fs.Int("inflight", 20, "graceful_shutdown_in_flight: number of concurrent slow calls")
	inflightSleep := fs.Duration("inflight-sleep", 2*time.Second, "graceful_shutdown_in_flight: Echo.Sleep duration of each call")
	verbose := fs.Bool("v", false, "rpcx client logs (level error) to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fs.Args())
		return 2
	}
	cases := sortedCases()
	if *list {
		for _, c := range cases {
			fmt.Fprintln(stdout, c.name)
		}
		return 0
	}
	loggerOnce.Do(func() {
		// rpcx logs to stdout by default; stdout is for result lines only.
		if *verbose {
			rlog.SetLogger(rlog.NewDefaultLogger(stderr, "rpcx-client ", 0, rlog.LvError))
		} else {
			rlog.SetDummyLogger()
		}
	})
	if *addr == "" {
		fmt.Fprintln(stderr, "-addr is required (e.g. tcp@127.0.0.1:8972)")
		return 2
	}
	e := &env{
		key: *addr, auth: *auth, authError: *authError, readTimeout: *readTimeout,
		maxMessageLength: *maxLen, timeout: *timeout, inflight: *inflight,
		inflightSleep: *inflightSleep, stderr: stderr,
	}
	if i := strings.Index(*addr, "@"); i >= 0 {
		e.network, e.address = (*addr)[:i], (*addr)[i+1:]
	} else {
		e.network, e.address = "tcp", *addr
		e.key = "tcp@" + *addr
	}
	switch e.network {
	case "tcp", "tcp4", "tcp6", "unix", "http", "ws", "wss":
	default:
		fmt.Fprintf(stderr, "unsupported network %q\n", e.network)
		return 2
	}
	if *tlsCA != "" {
		pem, err := os.ReadFile(*tlsCA)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "%s: no PEM certificates\n", *tlsCA)
			return 2
		}
		name := *tlsName
		if name == "" {
			if h, _, err := net.SplitHostPort(e.address); err == nil {
				name = h
			} else {
				name = "localhost"
			}
		}
		e.tlsConfig = &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12}
	}

	selected := cases
	if *caseList != "" {
		byName := map[string]caseDef{}
		for _, c := range cases {
			byName[c.name] = c
		}
		selected = nil
		for _, n := range strings.Split(*caseList, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				continue
			}
			c, ok := byName[n]
			if !ok {
				fmt.Fprintf(stderr, "unknown case %q (see -list)\n", n)
				return 2
			}
			selected = append(selected, c)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, c := range selected {
		r := runCase(e, c)
		_ = enc.Encode(r)
	}
	return 0
}
