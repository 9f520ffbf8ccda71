package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"
)

// T is the per-case context: it creates clients (closed after the case) and
// collects extra output fields.
type T struct {
	e    *env
	name string

	mu       sync.Mutex
	cleanups []func()
	fields   map[string]any
}

func newT(e *env, name string) *T { return &T{e: e, name: name, fields: map[string]any{}} }

func (t *T) defer_(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

func (t *T) cleanup() {
	t.mu.Lock()
	cs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		func() {
			defer func() { _ = recover() }()
			cs[i]()
		}()
	}
}

// set adds an extra field to the case's output line.
func (t *T) set(k string, v any) {
	t.mu.Lock()
	t.fields[k] = v
	t.mu.Unlock()
}

func (t *T) extra() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fields) == 0 {
		return nil
	}
	m := make(map[string]any, len(t.fields))
	for k, v := range t.fields {
		m[k] = v
	}
	return m
}

// option is client.DefaultOption plus the run's TLS config.
func (t *T) option(st protocol.SerializeType) client.Option {
	opt := client.DefaultOption
	opt.SerializeType = st
	opt.Retries = 0
	opt.ConnectTimeout = 5 * time.Second
	opt.TLSConfig = t.e.tlsConfig
	return opt
}

// xc is an XClient with its frame recorder.
type xc struct {
	client.XClient
	rec *recorder
}

// xclient returns a Failfast XClient for servicePath that records every
// frame it reads and writes, authenticated with -auth when set.
func (t *T) xclient(path string, opt client.Option) *xc {
	return t.newXClient(path, opt, nil, t.e.auth)
}

// bxclient is xclient with client.NewBidirectionalXClient.
func (t *T) bxclient(path string, opt client.Option, ch chan *protocol.Message) *xc {
	return t.newXClient(path, opt, ch, t.e.auth)
}

func (t *T) newXClient(path string, opt client.Option, ch chan *protocol.Message, auth string) *xc {
	d, err := client.NewPeer2PeerDiscovery(t.e.key, "")
	if err != nil {
		panic(err)
	}
	var x client.XClient
	if ch != nil {
		x = client.NewBidirectionalXClient(path, client.Failfast, client.RandomSelect, d, opt, ch)
	} else {
		x = client.NewXClient(path, client.Failfast, client.RandomSelect, d, opt)
	}
	rec := newRecorder()
	x.GetPlugins().Add(rec)
	if auth != "" {
		x.Auth(auth)
	}
	t.defer_(func() { _ = x.Close() })
	return &xc{XClient: x, rec: rec}
}

// ctx returns a context without deadline (so no __ServerTimeout is sent),
// cancelled at the end of the case.
func (t *T) ctx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.defer_(cancel)
	return ctx
}

// ctxTimeout returns a context with a deadline (XClient then sends
// __ServerTimeout).
func (t *T) ctxTimeout(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.defer_(cancel)
	return ctx
}

// metaCtx returns a context carrying request metadata and a response
// metadata map, as rpcx users do.
func metaCtx(parent context.Context, req map[string]string) (context.Context, map[string]string) {
	res := map[string]string{}
	ctx := context.WithValue(parent, share.ReqMetaDataKey, req)
	ctx = context.WithValue(ctx, share.ResMetaDataKey, res)
	return ctx, res
}

// ---------------------------------------------------------------------------
// Frame recorder: a client plugin (ConnCreated) that wraps each connection
// and parses the frames going both ways, so cases can check wire details
// rpcx hides from its callers (compress flags, seq order, reply absence).

type frame struct {
	raw      []byte
	flags    byte
	st       protocol.SerializeType
	seq      uint64
	path     string
	method   string
	meta     map[string]string
	metaErr  error
	payload  []byte
	received time.Time
}

func (f *frame) isResponse() bool  { return f.flags&0x80 != 0 }
func (f *frame) isHeartbeat() bool { return f.flags&0x40 != 0 }
func (f *frame) isOneway() bool    { return f.flags&0x20 != 0 }
func (f *frame) compress() protocol.CompressType {
	return protocol.CompressType((f.flags >> 2) & 0x07)
}
func (f *frame) isError() bool { return f.flags&0x03 == 1 }
func (f *frame) isPush() bool  { return !f.isResponse() && !f.isHeartbeat() && f.isOneway() }

type frameParser struct {
	buf    []byte
	frames []*frame
	err    error
}

func (p *frameParser) feed(b []byte) {
	if p.err != nil {
		return
	}
	p.buf = append(p.buf, b...)
	for len(p.buf) >= 16 {
		if p.buf[0] != 0x08 {
			p.err = fmt.Errorf("bad magic %d", p.buf[0])
			return
		}
		total := int(binary.BigEndian.Uint32(p.buf[12:16]))
		if len(p.buf) < 16+total {
			return
		}
		raw := make([]byte, 16+total)
		copy(raw, p.buf)
		p.buf = p.buf[16+total:]
		if len(p.buf) == 0 {
			p.buf = nil
		}
		f, err := parseFrame(raw)
		if err != nil {
			p.err = err
			return
		}
		f.received = time.Now()
		p.frames = append(p.frames, f)
	}
}

// parseFrame decodes a whole frame (no decompression).
func parseFrame(raw []byte) (*frame, error) {
	if len(raw) < 16 {
		return nil, errors.New("short frame")
	}
	f := &frame{raw: raw, flags: raw[2], st: protocol.SerializeType(raw[3] >> 4), seq: binary.BigEndian.Uint64(raw[4:12])}
	b := raw[16:]
	next := func() ([]byte, error) {
		if len(b) < 4 {
			return nil, errors.New("truncated length")
		}
		n := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+n {
			return nil, errors.New("truncated field")
		}
		v := b[4 : 4+n]
		b = b[4+n:]
		return v, nil
	}
	path, err := next()
	if err != nil {
		return nil, err
	}
	method, err := next()
	if err != nil {
		return nil, err
	}
	mb, err := next()
	if err != nil {
		return nil, err
	}
	if len(b) < 4 {
		return nil, errors.New("truncated payload length")
	}
	f.path, f.method = string(path), string(method)
	f.payload = b[4:]
	f.meta, f.metaErr = parseMeta(mb)
	return f, nil
}

func parseMeta(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for len(b) > 0 {
		if len(b) < 4 {
			return m, errors.New("bad metadata")
		}
		kl := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+kl+4 {
			return m, errors.New("bad metadata")
		}
		k := string(b[4 : 4+kl])
		b = b[4+kl:]
		vl := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+vl {
			return m, errors.New("bad metadata")
		}
		m[k] = string(b[4 : 4+vl])
		b = b[4+vl:]
	}
	return m, nil
}

// connRec is one recorded connection.
type connRec struct {
	rec    *recorder
	in     frameParser
	out    frameParser
	closed chan struct{}
	once   sync.Once
	err    error // first read error
}

type recConn struct {
	net.Conn
	cr *connRec
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.cr.rec.mu.Lock()
	if n > 0 {
		c.cr.in.feed(p[:n])
	}
	c.cr.rec.mu.Unlock()
	if err != nil {
		c.cr.once.Do(func() {
			c.cr.rec.mu.Lock()
			c.cr.err = err
			c.cr.rec.mu.Unlock()
			close(c.cr.closed)
		})
	}
	return n, err
}

func (c *recConn) Write(p []byte) (int, error) {
	c.cr.rec.mu.Lock()
	c.cr.out.feed(p)
	c.cr.rec.mu.Unlock()
	return c.Conn.Write(p)
}

type recorder struct {
	mu    sync.Mutex
	conns []*connRec
}

func newRecorder() *recorder { return &recorder{} }

// ConnCreated implements client.ConnCreatedPlugin.
func (r *recorder) ConnCreated(conn net.Conn) (net.Conn, error) {
	cr := &connRec{rec: r, closed: make(chan struct{})}
	r.mu.Lock()
	r.conns = append(r.conns, cr)
	r.mu.Unlock()
	return &recConn{Conn: conn, cr: cr}, nil
}

func (r *recorder) numConns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

func (r *recorder) conn(i int) *connRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < 0 {
		i += len(r.conns)
	}
	if i < 0 || i >= len(r.conns) {
		return nil
	}
	return r.conns[i]
}

// inFrames / outFrames return copies of the frame lists of connection i
// (negative: from the end).
func (r *recorder) inFrames(i int) []*frame {
	cr := r.conn(i)
	if cr == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*frame(nil), cr.in.frames...)
}

func (r *recorder) outFrames(i int) []*frame {
	cr := r.conn(i)
	if cr == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*frame(nil), cr.out.frames...)
}

func (r *recorder) parseErr(i int) error {
	cr := r.conn(i)
	if cr == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cr.in.err != nil {
		return fmt.Errorf("reply stream: %v", cr.in.err)
	}
	if cr.out.err != nil {
		return fmt.Errorf("request stream: %v", cr.out.err)
	}
	return nil
}

// lastExchange returns the last written request frame on connection -1 that
// is not a heartbeat, and the response frame with its seq (nil if none).
func (r *recorder) lastExchange() (req, res *frame) {
	outs := r.outFrames(-1)
	for i := len(outs) - 1; i >= 0; i-- {
		if !outs[i].isHeartbeat() {
			req = outs[i]
			break
		}
	}
	if req == nil {
		return nil, nil
	}
	for _, f := range r.inFrames(-1) {
		if f.seq == req.seq && !f.isPush() {
			res = f
		}
	}
	return req, res
}

// ---------------------------------------------------------------------------
// Raw connections for frame-level cases.

// rawDial opens a plain connection to the server (TLS if -tls-ca, HTTP
// CONNECT for http@), without any rpcx client.
func (t *T) rawDial() (net.Conn, error) {
	var (
		conn net.Conn
		err  error
	)
	network := t.e.network
	if network == "http" {
		network = "tcp"
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	if t.e.tlsConfig != nil {
		conn, err = tls.DialWithDialer(d, network, t.e.address, t.e.tlsConfig)
	} else {
		conn, err = d.Dial(network, t.e.address)
	}
	if err != nil {
		return nil, err
	}
	if t.e.network == "http" {
		if _, err := io.WriteString(conn, "CONNECT "+share.DefaultRPCPath+" HTTP/1.0\n\n"); err != nil {
			conn.Close()
			return nil, err
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
		if err != nil {
			conn.Close()
			return nil, err
		}
		if resp.Status != "200 Connected to rpcx" {
			conn.Close()
			return nil, fmt.Errorf("CONNECT: %s", resp.Status)
		}
		if br.Buffered() > 0 {
			conn.Close()
			return nil, errors.New("CONNECT: unexpected bytes after the response")
		}
	}
	t.defer_(func() { conn.Close() })
	return conn, nil
}

// encodeFrame encodes a request frame with protocol.Message.
func encodeFrame(flags byte, st protocol.SerializeType, seq uint64, path, method string, meta map[string]string, payload []byte) []byte {
	m := protocol.NewMessage()
	m.SetSeq(seq)
	m.SetSerializeType(st)
	m.ServicePath, m.ServiceMethod = path, method
	m.Metadata = meta
	m.Payload = payload
	b := m.Encode()
	b[2] = flags
	return b
}

// readFrame reads one whole frame from a raw connection.
func readFrame(conn net.Conn, deadline time.Time) (*frame, error) {
	_ = conn.SetReadDeadline(deadline)
	hdr := make([]byte, 16)
	if _, err := io.ReadFull(conn, hdr); err != nil {
		return nil, err
	}
	total := binary.BigEndian.Uint32(hdr[12:])
	if total > 64<<20 {
		return nil, fmt.Errorf("frame totalLen %d too large", total)
	}
	raw := make([]byte, 16+int(total))
	copy(raw, hdr)
	if _, err := io.ReadFull(conn, raw[16:]); err != nil {
		return nil, err
	}
	return parseFrame(raw)
}

// waitClosed reads from conn until EOF/error (the peer closed) or the
// deadline; it returns the bytes read and whether the connection closed.
func waitClosed(conn net.Conn, d time.Duration) (got []byte, closed bool, err error) {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return got, false, err
			}
			return got, true, err
		}
	}
}

// ---------------------------------------------------------------------------
// Small check helpers.

func isServiceError(err error) bool {
	se, ok := err.(client.ServiceError)
	return ok && se.IsServiceError()
}

func expectServiceError(err error, want string) error {
	if err == nil {
		return failf("call succeeded, want error %q", want)
	}
	if !isServiceError(err) {
		return failf("got non-service error %q (%T), want service error %q", err, err, want)
	}
	if err.Error() != want {
		return failf("error text %q, want %q", err.Error(), want)
	}
	return nil
}

func eqMeta(got, want map[string]string) error {
	if len(got) == 0 && len(want) == 0 {
		return nil
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			g, ok := got[k]
			if !ok {
				return failf("metadata key %q missing (want value %q); got %d entries, want %d", k, v, len(got), len(want))
			}
			if g != v {
				return failf("metadata[%q] = %q, want %q", k, g, v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				return failf("unexpected metadata %q=%q", k, v)
			}
		}
	}
	return nil
}

// without returns a copy of m without the given keys.
func without(m map[string]string, keys ...string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
