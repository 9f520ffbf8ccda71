package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
)

// With this variable set the test binary runs main() instead of the tests,
// so process-level behaviour (stdout line, os.Exit, SIGTERM) is tested
// without a separate go build.
const runMainEnv = "RPCX_INTEROP_RUN_SERVER_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	setLogger("error")
	os.Exit(m.Run())
}

var addrLine = regexp.MustCompile(`^listening (tcp|http)@127\.0\.0\.1:[1-9][0-9]*$|^listening unix@/.+$`)

// startServer runs the server in-process with the given flags and returns
// the printed key (e.g. "tcp@127.0.0.1:40123").
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	c, err := parseFlags(args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, c, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("reading address line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("server did not stop")
		}
	})
	line = strings.TrimSuffix(line, "\n")
	if !addrLine.MatchString(line) {
		t.Fatalf("address line %q", line)
	}
	return strings.TrimPrefix(line, "listening ")
}

// newXClient returns a Failfast XClient for key and path; ch != nil makes it
// bidirectional.
func newXClient(t *testing.T, key, path string, st protocol.SerializeType, ch chan *protocol.Message) client.XClient {
	t.Helper()
	d, err := client.NewPeer2PeerDiscovery(key, "")
	if err != nil {
		t.Fatal(err)
	}
	opt := client.DefaultOption
	opt.SerializeType = st
	var xc client.XClient
	if ch != nil {
		xc = client.NewBidirectionalXClient(path, client.Failfast, client.RandomSelect, d, opt, ch)
	} else {
		xc = client.NewXClient(path, client.Failfast, client.RandomSelect, d, opt)
	}
	t.Cleanup(func() { xc.Close() })
	return xc
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
