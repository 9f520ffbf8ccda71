// Command server is a Go rpcx v1.9.4 server used as the peer of the
// TypeScript interop tests and benchmarks. See README.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/server"
	"github.com/smallnest/rpcx/serverplugin"
	"github.com/smallnest/rpcx/share"
	"golang.org/x/net/websocket"

	"github.com/rpcx-node/interop/internal/services"
)

type config struct {
	addr             string
	network          string
	auth             string
	maxMessageLength int
	readTimeout      time.Duration
	writeTimeout     time.Duration
	tlsCert, tlsKey  string
	exitAfter        uint64
	rateLimit        float64
	shutdownTimeout  time.Duration
	logLevel         string
	streams          streamFlags
	aliases          aliasFlags
}

// aliasFlags is -alias AliasPath.AliasMethod=Path.Method, repeatable: serverplugin.AliasPlugin.
type aliasFlags []string

func (a *aliasFlags) String() string     { return strings.Join(*a, ",") }
func (a *aliasFlags) Set(v string) error { *a = append(*a, v); return nil }

// aliasPlugin is rpcx's own serverplugin.AliasPlugin with the -alias pairs.
func aliasPlugin(pairs []string) (*serverplugin.AliasPlugin, error) {
	p := serverplugin.NewAliasPlugin()
	for _, pair := range pairs {
		from, to, ok := strings.Cut(pair, "=")
		fp, fm, ok1 := strings.Cut(from, ".")
		tp, tm, ok2 := strings.Cut(to, ".")
		if !ok || !ok1 || !ok2 {
			return nil, fmt.Errorf("-alias %q: want AliasPath.AliasMethod=Path.Method", pair)
		}
		p.Alias(fp, fm, tp, tm)
	}
	return p, nil
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "listen address (host:port, or a socket path for -network unix)")
	fs.StringVar(&c.network, "network", "tcp", "tcp | unix | http (rpcx HTTP CONNECT transport) | ws | wss (WebSocket at /_rpcx_; wss needs -tls-cert)")
	fs.StringVar(&c.auth, "auth", "", "accept only this __AUTH token (empty: no auth)")
	fs.IntVar(&c.maxMessageLength, "max-message-length", 0, "protocol.MaxMessageLength: max totalLen of a frame, 0 = unlimited")
	fs.DurationVar(&c.readTimeout, "read-timeout", 0, "server.WithReadTimeout (per-frame idle timeout)")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 0, "server.WithWriteTimeout")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate (with -tls-key: serve TLS)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key")
	fs.Uint64Var(&c.exitAfter, "exit-after", 0, "os.Exit(3) right after reading the Nth non-heartbeat request, before handling it")
	fs.Float64Var(&c.rateLimit, "rate-limit", 0, "allow this many requests per second per server (token bucket, burst = max(1, rate)); 0 = off")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "graceful shutdown limit on SIGTERM/SIGINT")
	fs.StringVar(&c.logLevel, "log-level", "error", "stderr log level: debug | info | warn | error")
	c.streams.register(fs)
	fs.Var(&c.aliases, "alias", "AliasPath.AliasMethod=Path.Method: serverplugin.AliasPlugin (repeatable)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	switch c.network {
	case "tcp", "unix", "http", "ws", "wss":
	default:
		return nil, fmt.Errorf("unsupported -network %q", c.network)
	}
	return c, nil
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Process-global settings: rpcx's logger and protocol.MaxMessageLength
	// (which also limits any rpcx client in this process).
	setLogger(c.logLevel)
	protocol.MaxMessageLength = c.maxMessageLength

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done (SIGTERM/SIGINT in main), then shuts down
// gracefully. It ignores c.logLevel and c.maxMessageLength, which are
// process-global and set by main. The first line written to out is the bound address, e.g.
// "listening tcp@127.0.0.1:40123".
func run(ctx context.Context, c *config, out io.Writer) error {
	opts := []server.OptionFn{
		server.WithReadTimeout(c.readTimeout),
		server.WithWriteTimeout(c.writeTimeout),
	}
	tlsConfig, err := loadTLS(c.tlsCert, c.tlsKey)
	if err != nil {
		return err
	}
	if tlsConfig != nil {
		opts = append(opts, server.WithTLSConfig(tlsConfig))
	}
	srv := server.NewServer(opts...)
	if c.auth != "" {
		srv.AuthFunc = tokenAuth(c.auth)
	}
	if c.exitAfter > 0 {
		srv.Plugins.Add(&exitAfterPlugin{n: c.exitAfter})
	}
	if c.rateLimit > 0 {
		srv.Plugins.Add(newRateLimitPlugin(c.rateLimit))
	}
	if len(c.aliases) > 0 {
		ap, err := aliasPlugin(c.aliases)
		if err != nil {
			return err
		}
		srv.Plugins.Add(ap)
	}
	if _, err := services.Register(srv); err != nil {
		return err
	}
	if err := c.streams.enable(srv); err != nil {
		return err
	}

	ln, cleanup, err := listen(c.network, c.addr, tlsConfig)
	if err != nil {
		return err
	}
	defer cleanup()

	w := bufio.NewWriter(out)
	fmt.Fprintf(w, "listening %s@%s\n", c.network, ln.Addr().String())
	if err := w.Flush(); err != nil {
		return err
	}

	served := make(chan error, 1)
	if c.network == "ws" || c.network == "wss" {
		// rpcx's serveByWS, on our listener (ServeListener has no ws case): x/net websocket
		// at /_rpcx_ feeding Server.ServeWS. The listener is TLS when -tls-cert is given.
		mux := http.NewServeMux()
		mux.Handle(share.DefaultRPCPath, websocket.Handler(srv.ServeWS))
		go func() { served <- http.Serve(ln, mux) }()
	} else {
		go func() { served <- srv.ServeListener(c.network, ln) }()
	}

	select {
	case err := <-served:
		if err != nil && !errors.Is(err, server.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
		logf("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logf("shutdown: %v", err)
			_ = srv.Close()
		}
		return nil
	}
}
