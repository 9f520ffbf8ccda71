// Command streamclient is a Go rpcx v1.9.4 client (client.XClient Stream, SendFile,
// DownloadFile, and message streams written on XClient.Stream with protocol.Read/WriteTo) that
// runs the stream cases 63-70 of /work/shared/interop-cases.md against a server and prints one
// JSON line per case, like cmd/client:
//
//	{"case":"stream_echo","ok":true,"ms":120}
//
// Flags: -addr KEY (required), -case A,B (default all), -list, -timeout D (per case),
// -token-ttl D (the server's token expiry: enables the late-token check of
// stream_token_rejected), -token-read-timeout D (the server's token-read deadline: enables the
// silent-connection check), -dir DIR (where file_upload writes its files; default a temp dir).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/smallnest/rpcx/client"
	rlog "github.com/smallnest/rpcx/log"
	"github.com/smallnest/rpcx/protocol"
)

type env struct {
	key              string
	timeout          time.Duration
	tokenTTL         time.Duration
	tokenReadTimeout time.Duration
	dir              string
}

// T is a case's context: clients and contexts are closed after the case.
type T struct {
	e        *env
	mu       sync.Mutex
	cleanups []func()
	fields   map[string]any
}

func (t *T) defer_(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

func (t *T) set(k string, v any) {
	t.mu.Lock()
	t.fields[k] = v
	t.mu.Unlock()
}

// xclient is a Failfast Peer2Peer XClient for path with serializer st.
func (t *T) xclient(path string, st protocol.SerializeType) client.XClient {
	d, err := client.NewPeer2PeerDiscovery(t.e.key, "")
	if err != nil {
		panic(err)
	}
	opt := client.DefaultOption
	opt.SerializeType = st
	opt.Retries = 0
	opt.ConnectTimeout = 5 * time.Second
	x := client.NewXClient(path, client.Failfast, client.RandomSelect, d, opt)
	t.defer_(func() { _ = x.Close() })
	return x
}

func (t *T) ctx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.defer_(cancel)
	return ctx
}

type skipError struct{ reason string }

func (s skipError) Error() string { return "skipped: " + s.reason }

func skip(format string, a ...any) error  { return skipError{fmt.Sprintf(format, a...)} }
func failf(format string, a ...any) error { return fmt.Errorf(format, a...) }

type caseDef struct {
	name string
	run  func(t *T) error
}

// cases in the order of interop-cases.md.
var cases = []caseDef{
	{"stream_echo", caseStreamEcho},
	{"stream_token_rejected", caseTokenRejected},
	{"file_upload", caseFileUpload},
	{"file_download", caseFileDownload},
	{"message_stream_bidi", caseBidi},
	{"message_stream_server", caseServerStream},
	{"message_stream_error_and_cancel", caseErrorAndCancel},
}

func runCase(e *env, c caseDef) map[string]any {
	t := &T{e: e, fields: map[string]any{}}
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
	t.mu.Lock()
	cs := t.cleanups
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	r := map[string]any{"case": c.name, "ok": err == nil, "ms": time.Since(start).Milliseconds()}
	var se skipError
	if errors.As(err, &se) {
		r["ok"] = true
		r["skipped"] = se.reason
	} else if err != nil {
		r["error"] = err.Error()
	}
	for k, v := range t.fields {
		if _, taken := r[k]; !taken {
			r[k] = v
		}
	}
	return r
}

func main() { os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr)) }

func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("streamclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	e := &env{}
	fs.StringVar(&e.key, "addr", "", "server key tcp@127.0.0.1:PORT")
	caseList := fs.String("case", "", "comma-separated case names (default: all)")
	list := fs.Bool("list", false, "print the case names and exit")
	fs.DurationVar(&e.timeout, "timeout", 60*time.Second, "per-case time limit")
	fs.DurationVar(&e.tokenTTL, "token-ttl", 0, "the server's token expiry (enables the late-token check)")
	fs.DurationVar(&e.tokenReadTimeout, "token-read-timeout", 0, "the server's token-read deadline (enables the silent-connection check)")
	fs.StringVar(&e.dir, "dir", "", "directory for file_upload's files (default: a temp dir)")
	verbose := fs.Bool("v", false, "rpcx logs to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		for _, c := range cases {
			fmt.Fprintln(stdout, c.name)
		}
		return 0
	}
	if e.key == "" {
		fmt.Fprintln(stderr, "-addr is required")
		return 2
	}
	if !*verbose {
		rlog.SetDummyLogger()
	}
	run := cases
	if *caseList != "" {
		run = nil
		for _, n := range strings.Split(*caseList, ",") {
			found := false
			for _, c := range cases {
				if c.name == n {
					run = append(run, c)
					found = true
				}
			}
			if !found {
				fmt.Fprintf(stderr, "unknown case %q\n", n)
				return 2
			}
		}
	}
	enc := json.NewEncoder(stdout)
	for _, c := range run {
		_ = enc.Encode(runCase(e, c))
	}
	return 0
}
