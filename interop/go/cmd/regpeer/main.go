// Command regpeer is the Go side of the registry interop cases (55-62 of
// shared/interop-cases.md): a Go rpcx v1.9.4 server that registers itself in
// etcd, Redis or ZooKeeper exactly as Go deployments do, and a Go XClient that
// discovers servers there and calls them.
//
//	regpeer server -registry etcd://127.0.0.1:2379 -base-path /rpcx_test \
//	    -name go1 -services Arith,Who -meta 'weight=1' -update-interval 1s
//	regpeer client -registry etcd://127.0.0.1:2379 -base-path /rpcx_test \
//	    -service Who -select roundrobin -calls 100
//
// The server prints "listening tcp@host:port" and then "registered"; it serves
// Arith (the interop Arith) and Who.Name (answers {"Name": -name}); on
// SIGTERM it shuts down gracefully (Go: Shutdown, which unregisters first);
// SIGKILL leaves its entries to expire.
//
// The client prints one JSON line per call, {"i":n,"name":"go1"} or
// {"i":n,"error":"..."}, then {"done":true,"counts":{...},"errors":n}. With
// -calls 0 it calls until stdin closes, one call every -interval.
//
// Watch mode (for bench/registry.ts) opens -n independent Go discoveries of
// -service and prints {"t":<unix ns>,"i":<discovery>,"n":<servers>} for the
// first list and for every update each of them delivers, until stdin closes.
//
// List mode (for bench/registry.ts) opens one Go discovery of <prefix>0 and
// Clones it for <prefix>1 ... <prefix>N-1 (Go's Clone shares the store
// connection) — for Redis and ZooKeeper, whose Clone only works on a template,
// Go's NewXxxDiscoveryTemplate(basePath) cloned for <prefix>0 ... — and prints {"ms":<elapsed>,"servers":<total>} once every
// discovery lists -expect servers (or -timeout passes).
//
// Each registry lives in its own file (etcd.go, redis.go, zookeeper.go) and
// adds itself to registries in init().
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/server"

	"github.com/rpcx-node/interop/internal/services"
)

// registry builds the Go plugin and discovery of one registry kind.
type registry struct {
	// serverPlugin returns a started register plugin for serviceAddress
	// (e.g. tcp@127.0.0.1:40123) and its stop function.
	serverPlugin func(hosts []string, basePath, serviceAddress string, updateInterval time.Duration) (server.Plugin, func() error, error)
	// discovery returns the Go discovery of basePath/servicePath.
	discovery func(hosts []string, basePath, servicePath string) (client.ServiceDiscovery, error)
	// template, if set, returns Go's NewXxxDiscoveryTemplate(basePath): the
	// discovery to Clone per service. rpcx-redis's and rpcx-zookeeper's Clone
	// append the service to the discovery's own path, which already ends in
	// its service (basePath/Svc0/Svc1), so only a template's clones work there.
	template func(hosts []string, basePath string) (client.ServiceDiscovery, error)
}

var registries = map[string]registry{}

// Who answers which server it is.
type Who struct{ name string }

// WhoReply is the reply of Who.Name.
type WhoReply struct{ Name string }

// Name answers this server's -name.
func (w *Who) Name(_ context.Context, _ *services.Empty, reply *WhoReply) error {
	reply.Name = w.name
	return nil
}

func parseRegistry(u string) (string, []string, error) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", nil, fmt.Errorf("bad -registry %q: want scheme://host:port[,host:port]", u)
	}
	hostPart := u[i+3:]
	if j := strings.Index(hostPart, "/"); j >= 0 {
		hostPart = hostPart[:j]
	}
	return u[:i], strings.Split(hostPart, ","), nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: regpeer server|client [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "client":
		err = runClient(os.Args[2:], os.Stdin, os.Stdout)
	case "watch":
		err = runWatch(os.Args[2:], os.Stdin, os.Stdout)
	case "list":
		err = runList(os.Args[2:], os.Stdout)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "regpeer:", err)
		os.Exit(1)
	}
}

func lookup(u string) (registry, []string, error) {
	scheme, hosts, err := parseRegistry(u)
	if err != nil {
		return registry{}, nil, err
	}
	r, ok := registries[scheme]
	if !ok {
		return registry{}, nil, fmt.Errorf("unknown registry %q", scheme)
	}
	return r, hosts, nil
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	reg := fs.String("registry", "", "etcd://h:p | redis://h:p | zk://h:p")
	basePath := fs.String("base-path", "/rpcx_test", "BasePath")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	name := fs.String("name", "go", "what Who.Name answers")
	svcs := fs.String("services", "Arith,Who", "services to register (Arith, Who)")
	meta := fs.String("meta", "", "metadata of every service (URL query)")
	interval := fs.Duration("update-interval", time.Second, "UpdateInterval")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, hosts, err := lookup(*reg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	serviceAddress := "tcp@" + ln.Addr().String()
	plugin, stopPlugin, err := r.serverPlugin(hosts, *basePath, serviceAddress, *interval)
	if err != nil {
		return err
	}
	srv := server.NewServer()
	srv.Plugins.Add(plugin)
	for _, s := range strings.Split(*svcs, ",") {
		var rcvr any
		switch s {
		case "Arith":
			rcvr = new(services.Arith)
		case "Who":
			rcvr = &Who{name: *name}
		default:
			return fmt.Errorf("unknown service %q", s)
		}
		if err := srv.RegisterName(s, rcvr, *meta); err != nil {
			return err
		}
	}
	fmt.Printf("listening %s\n", serviceAddress)
	fmt.Println("registered")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener("tcp", ln) }()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, server.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	if stopPlugin != nil {
		_ = stopPlugin()
	}
	fmt.Println("stopped")
	return nil
}

func selectMode(s string) (client.SelectMode, error) {
	switch strings.ToLower(s) {
	case "random":
		return client.RandomSelect, nil
	case "roundrobin":
		return client.RoundRobin, nil
	case "weightedroundrobin":
		return client.WeightedRoundRobin, nil
	case "consistenthash":
		return client.ConsistentHash, nil
	}
	return 0, fmt.Errorf("unknown -select %q", s)
}

func runClient(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	reg := fs.String("registry", "", "etcd://h:p | redis://h:p | zk://h:p")
	basePath := fs.String("base-path", "/rpcx_test", "BasePath")
	service := fs.String("service", "Who", "service path (Who: calls Who.Name)")
	sel := fs.String("select", "roundrobin", "random | roundrobin | weightedroundrobin | consistenthash")
	group := fs.String("group", "", "Option.Group")
	calls := fs.Int("calls", 10, "number of calls; 0 = until stdin closes")
	interval := fs.Duration("interval", 0, "pause between calls")
	failMode := fs.String("fail", "failover", "failover | failfast | failtry")
	timeout := fs.Duration("timeout", 2*time.Second, "per-call timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, hosts, err := lookup(*reg)
	if err != nil {
		return err
	}
	mode, err := selectMode(*sel)
	if err != nil {
		return err
	}
	fm := client.Failover
	switch *failMode {
	case "failfast":
		fm = client.Failfast
	case "failtry":
		fm = client.Failtry
	}
	d, err := r.discovery(hosts, *basePath, *service)
	if err != nil {
		return err
	}
	opt := client.DefaultOption
	opt.Group = *group
	xc := client.NewXClient(*service, fm, mode, d, opt)
	defer xc.Close()

	stopped := make(chan struct{})
	if *calls == 0 {
		go func() {
			_, _ = io.Copy(io.Discard, in)
			close(stopped)
		}()
	}
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	counts := map[string]int{}
	errs := 0
	for i := 0; *calls == 0 || i < *calls; i++ {
		if *calls == 0 {
			select {
			case <-stopped:
				goto done
			default:
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		reply := &WhoReply{}
		var err error
		if *service == "Who" {
			err = xc.Call(ctx, "Name", &services.Empty{}, reply)
		} else {
			ar := &services.ArithReply{}
			err = xc.Call(ctx, "Mul", &services.ArithArgs{A: i, B: 2}, ar)
			reply.Name = fmt.Sprint(ar.C)
		}
		cancel()
		if err != nil {
			errs++
			_ = enc.Encode(map[string]any{"i": i, "error": err.Error()})
		} else {
			counts[reply.Name]++
			_ = enc.Encode(map[string]any{"i": i, "name": reply.Name})
		}
		_ = w.Flush()
		if *interval > 0 {
			time.Sleep(*interval)
		}
	}
done:
	_ = enc.Encode(map[string]any{"done": true, "counts": counts, "errors": errs})
	return w.Flush()
}

func runWatch(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	reg := fs.String("registry", "", "etcd://h:p | redis://h:p | zk://h:p")
	basePath := fs.String("base-path", "/rpcx_test", "BasePath")
	service := fs.String("service", "Who", "service path")
	n := fs.Int("n", 10, "number of independent discoveries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, hosts, err := lookup(*reg)
	if err != nil {
		return err
	}
	// Each event is stamped when the discovery's channel delivers it and handed to one writer
	// goroutine, so no discovery waits for another's stdout write before its own stamp (the TS
	// side, bench/registry-watch.ts, does the same with one write per event-loop turn).
	type event struct {
		t    int64
		i, n int
	}
	lines := make(chan event, 1<<16)
	go func() {
		enc := json.NewEncoder(out)
		for e := range lines {
			_ = enc.Encode(map[string]any{"t": e.t, "i": e.i, "n": e.n})
		}
	}()
	emit := func(i, count int) {
		lines <- event{time.Now().UnixNano(), i, count}
	}
	for i := 0; i < *n; i++ {
		d, err := r.discovery(hosts, *basePath, *service)
		if err != nil {
			return err
		}
		defer d.Close()
		ch := d.WatchService()
		emit(i, len(d.GetServices()))
		go func(i int) {
			for pairs := range ch {
				emit(i, len(pairs))
			}
		}(i)
	}
	emit(-1, 0) // ready
	_, _ = io.Copy(io.Discard, in)
	return nil
}

func runList(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	reg := fs.String("registry", "", "etcd://h:p | redis://h:p | zk://h:p")
	basePath := fs.String("base-path", "/rpcx_test", "BasePath")
	prefix := fs.String("service-prefix", "Svc", "services are <prefix>0 ... <prefix>N-1")
	n := fs.Int("n", 1000, "number of services")
	expect := fs.Int("expect", 3, "servers each service should list")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, hosts, err := lookup(*reg)
	if err != nil {
		return err
	}
	start := time.Now()
	var ds []client.ServiceDiscovery
	if r.template != nil {
		tmpl, err := r.template(hosts, *basePath)
		if err != nil {
			return err
		}
		defer tmpl.Close()
		for i := 0; i < *n; i++ {
			d, err := tmpl.Clone(fmt.Sprintf("%s%d", *prefix, i))
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
	} else {
		first, err := r.discovery(hosts, *basePath, *prefix+"0")
		if err != nil {
			return err
		}
		defer first.Close()
		ds = append(ds, first)
		for i := 1; i < *n; i++ {
			d, err := first.Clone(fmt.Sprintf("%s%d", *prefix, i))
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
	}
	total := 0
	for _, d := range ds {
		for {
			got := len(d.GetServices())
			if got >= *expect || time.Since(start) > *timeout {
				total += got
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	return json.NewEncoder(out).Encode(map[string]any{"ms": float64(time.Since(start).Microseconds()) / 1000, "servers": total})
}
