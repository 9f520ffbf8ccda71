// Package streams holds what the Go interop peers share for rpcx's stream service and file
// transfer (cases 63-70): deterministic test content, the handlers of the Go server peer, and
// message streams written on XClient.Stream / the stream service with rpcx's own
// protocol.Read and Message.WriteTo (each message one complete rpcx frame; a failure a frame
// with status Error and __rpcx_error__; end-of-stream the half-close).
package streams

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"
)

// Meta keys of a message stream's Stream call (the TS library uses the same).
const (
	MetaPath      = "__rpcx_stream_path"
	MetaMethod    = "__rpcx_stream_method"
	MetaSerialize = "__rpcx_stream_serialize"
)

// Content returns size bytes of the shared deterministic test content: the concatenation of
// sha256("rpcx-stream" || uint64be(k)) for k = 0, 1, ...
func Content(size int) []byte {
	out := make([]byte, 0, size+32)
	var k uint64
	for len(out) < size {
		var b [19]byte
		copy(b[:], "rpcx-stream")
		binary.BigEndian.PutUint64(b[11:], k)
		h := sha256.Sum256(b[:])
		out = append(out, h[:]...)
		k++
	}
	return out[:size]
}

// Sha256Hex is the hex sha256 of b.
func Sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ---------------------------------------------------------------------------
// Message streams.

// Conn is one message stream over a stream-service connection.
type Conn struct {
	conn   net.Conn
	r      *bufio.Reader
	wmu    sync.Mutex
	path   string
	method string
	st     protocol.SerializeType
	mt     protocol.MessageType
	seq    uint64
}

// NewConn wraps conn. A client sends Requests, a server Responses.
func NewConn(conn net.Conn, path, method string, st protocol.SerializeType, server bool) *Conn {
	mt := protocol.Request
	if server {
		mt = protocol.Response
	}
	return &Conn{conn: conn, r: bufio.NewReaderSize(conn, 64*1024), path: path, method: method, st: st, mt: mt}
}

// Send encodes v with the stream's codec and writes it as one frame.
func (c *Conn) Send(v any) error {
	cc := share.Codecs[c.st]
	if cc == nil {
		return fmt.Errorf("no codec %d", c.st)
	}
	data, err := cc.Encode(v)
	if err != nil {
		return err
	}
	return c.SendRaw(data, nil, false)
}

// SendRaw writes one frame with payload (status Error when isErr, with meta).
func (c *Conn) SendRaw(payload []byte, meta map[string]string, isErr bool) error {
	m := protocol.NewMessage()
	m.SetMessageType(c.mt)
	m.SetSerializeType(c.st)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.seq++
	m.SetSeq(c.seq)
	m.ServicePath = c.path
	m.ServiceMethod = c.method
	m.Metadata = meta
	m.Payload = payload
	if isErr {
		m.SetMessageStatusType(protocol.Error)
	}
	_, err := m.WriteTo(c.conn)
	return err
}

// SendError ends the stream with a status-Error frame carrying text, then the half-close.
func (c *Conn) SendError(text string) error {
	if err := c.SendRaw(nil, map[string]string{protocol.ServiceError: text}, true); err != nil {
		return err
	}
	return c.CloseSend()
}

// CloseSend half-closes (gRPC CloseSend, go-micro Close of the send side).
func (c *Conn) CloseSend() error {
	if tc, ok := c.conn.(interface{ CloseWrite() error }); ok {
		return tc.CloseWrite()
	}
	return c.conn.Close()
}

// Close closes the connection.
func (c *Conn) Close() error { return c.conn.Close() }

// Abort closes with a TCP reset (SO_LINGER 0): the peer sees the caller go away.
func (c *Conn) Abort() {
	if tc, ok := c.conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.conn.Close()
}

// RemoteError is a status-Error frame's text.
type RemoteError string

func (e RemoteError) Error() string { return string(e) }

// Recv reads the next frame into v: io.EOF at the peer's half-close, RemoteError for an error frame.
func (c *Conn) Recv(v any) error {
	m, err := protocol.Read(c.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return err
	}
	if m.MessageStatusType() == protocol.Error {
		return RemoteError(m.Metadata[protocol.ServiceError])
	}
	cc := share.Codecs[m.SerializeType()]
	if cc == nil {
		return fmt.Errorf("no codec %d", m.SerializeType())
	}
	return cc.Decode(m.Payload, v)
}

// StreamCaller is the part of client.XClient used to open a message stream.
type StreamCaller interface {
	Stream(ctx context.Context, meta map[string]string) (net.Conn, error)
}

// Open opens a message stream to path.method on x (an XClient of "_streamservice").
func Open(ctx context.Context, x StreamCaller, path, method string, st protocol.SerializeType, meta map[string]string) (*Conn, error) {
	m := map[string]string{MetaPath: path, MetaMethod: method, MetaSerialize: fmt.Sprint(int(st))}
	for k, v := range meta {
		m[k] = v
	}
	conn, err := x.Stream(ctx, m)
	if err != nil {
		return nil, err
	}
	return NewConn(conn, path, method, st, false), nil
}

// ---------------------------------------------------------------------------
// Message types (msgpack by Go field name, JSON by the same names).

// Point is gRPC route_guide's Point.
type Point struct {
	Latitude  int32
	Longitude int32
}

// RouteNote is gRPC route_guide's RouteNote.
type RouteNote struct {
	Location Point
	Message  string
}

// StreamingRequest / StreamingResponse are go-micro's examples/stream messages.
type StreamingRequest struct{ Count int64 }
type StreamingResponse struct{ Count int64 }

// Ping / Pong are go-micro's PingPong messages.
type Ping struct{ Stroke int64 }
type Pong struct{ Stroke int64 }

// Payload is a sequence-numbered blob (backpressure and cancel cases).
type Payload struct {
	N    int64
	Data []byte
}

// ---------------------------------------------------------------------------
// Server side.

// Stats counts what the Go server's handlers saw (read by the StreamProbe service).
type Stats struct {
	EndlessEnded  atomic.Int64 // Example.Endless handlers that ended because the client went away
	EndlessSent   atomic.Int64 // messages the last Endless handler wrote
	HalfCloseSeen atomic.Int64 // echo handlers that read EOF and still wrote after it
}

// Global stats of this process.
var Global Stats

// StreamHandler is the Go server peer's server.StreamHandler: a message stream when the Meta
// names one, else a byte echo that, after the client's half-close, writes the byte count read
// (8 bytes big-endian) and half-closes.
func StreamHandler(conn net.Conn, args *share.StreamServiceArgs) {
	defer conn.Close()
	path, method := args.Meta[MetaPath], args.Meta[MetaMethod]
	if path == "" {
		echo(conn)
		return
	}
	st := protocol.MsgPack
	if s := args.Meta[MetaSerialize]; s != "" {
		var n int
		fmt.Sscan(s, &n)
		st = protocol.SerializeType(n)
	}
	c := NewConn(conn, path, method, st, true)
	var err error
	switch path + "." + method {
	case "RouteGuide.RouteChat":
		err = routeChat(c)
	case "Example.Stream":
		err = exampleStream(c)
	case "Example.PingPong":
		err = pingPong(c)
	case "Example.Fail":
		err = fail(c)
	case "Example.Endless":
		err = endless(c)
	case "Example.Sink":
		err = sink(c)
	default:
		// rpcx's dispatch texts (server/server.go).
		if path == "RouteGuide" || path == "Example" {
			err = errors.New("rpcx: can't find method " + method)
		} else {
			err = errors.New("rpcx: can't find service " + path)
		}
	}
	if err != nil {
		_ = c.SendError(err.Error())
		drain(c)
		return
	}
	_ = c.CloseSend()
	drain(c)
}

// drain reads until the client's half-close, so the close is graceful.
func drain(c *Conn) {
	_, _ = io.Copy(io.Discard, c.r)
}

func echo(conn net.Conn) {
	n, err := io.Copy(conn, conn)
	if err != nil {
		return
	}
	// EOF read: the client half-closed. Writing still works: send the count read as an
	// 8-byte big-endian trailer, then half-close too.
	var tr [8]byte
	binary.BigEndian.PutUint64(tr[:], uint64(n))
	if _, err := conn.Write(tr[:]); err == nil {
		Global.HalfCloseSeen.Add(1)
	}
	if tc, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, conn)
}

// routeChat is gRPC route_guide's RouteChat: for each note, send every earlier note at the
// same location, then remember it.
func routeChat(c *Conn) error {
	notes := map[Point][]RouteNote{}
	for {
		var in RouteNote
		if err := c.Recv(&in); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		for _, n := range notes[in.Location] {
			if err := c.Send(&n); err != nil {
				return err
			}
		}
		notes[in.Location] = append(notes[in.Location], in)
	}
}

// exampleStream is go-micro's Stream: one request, Count replies.
func exampleStream(c *Conn) error {
	var req StreamingRequest
	if err := c.Recv(&req); err != nil {
		return err
	}
	for i := int64(0); i < req.Count; i++ {
		if err := c.Send(&StreamingResponse{Count: i}); err != nil {
			return err
		}
	}
	return nil
}

// pingPong is go-micro's BidirectionalStream example: a Pong per Ping until the client closes.
func pingPong(c *Conn) error {
	for {
		var p Ping
		if err := c.Recv(&p); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if err := c.Send(&Pong{Stroke: p.Stroke}); err != nil {
			return err
		}
	}
}

// fail sends Count replies, then fails with a fixed text.
func fail(c *Conn) error {
	var req StreamingRequest
	if err := c.Recv(&req); err != nil {
		return err
	}
	for i := int64(0); i < req.Count; i++ {
		if err := c.Send(&StreamingResponse{Count: i}); err != nil {
			return err
		}
	}
	return fmt.Errorf("stream failed after %d replies", req.Count)
}

// endless sends Payloads of Size bytes (Count of them, or until the client goes away when Count is 0).
func endless(c *Conn) error {
	var req struct {
		Count int64
		Size  int64
	}
	if err := c.Recv(&req); err != nil {
		return err
	}
	data := Content(int(req.Size))
	var i int64
	for req.Count == 0 || i < req.Count {
		Global.EndlessSent.Store(i) // live: the backpressure case reads it while its reader stalls
		if err := c.Send(&Payload{N: i, Data: data}); err != nil {
			Global.EndlessSent.Store(i)
			Global.EndlessEnded.Add(1)
			return nil
		}
		i++
	}
	Global.EndlessSent.Store(i)
	return nil
}

// sink reads Payloads until the half-close and answers one StreamingResponse with the count.
func sink(c *Conn) error {
	var n int64
	for {
		var p Payload
		if err := c.Recv(&p); err != nil {
			if err == io.EOF {
				return c.Send(&StreamingResponse{Count: n})
			}
			return err
		}
		if p.N != n {
			return fmt.Errorf("sink: got message %d, want %d", p.N, n)
		}
		n++
	}
}

// Probe is a normal rpcx service exposing Stats to the tests.
type Probe struct{}

// ProbeReply is Probe.Stats's reply.
type ProbeReply struct {
	EndlessEnded  int64
	EndlessSent   int64
	HalfCloseSeen int64
}

// Stats returns the counters.
func (Probe) Stats(ctx context.Context, args *struct{}, reply *ProbeReply) error {
	reply.EndlessEnded = Global.EndlessEnded.Load()
	reply.EndlessSent = Global.EndlessSent.Load()
	reply.HalfCloseSeen = Global.HalfCloseSeen.Load()
	return nil
}

// ---------------------------------------------------------------------------
// File transfer handlers of the Go server peer: uploads are saved in Dir (with the metadata in
// <name>.meta as JSON), downloads read from Dir (a missing file sends 0 bytes, as in Go).

// Files serves a directory.
type Files struct{ Dir string }

// Upload is a server.FileTransferHandler saving into Dir.
func (f Files) Upload(conn net.Conn, args *share.FileTransferArgs) {
	defer conn.Close()
	name := filepath.Base(args.FileName)
	if name == "." || name == "/" || name == "" {
		return
	}
	data, err := io.ReadAll(conn)
	if err != nil {
		return
	}
	meta, _ := json.Marshal(map[string]any{"file_name": args.FileName, "file_size": args.FileSize, "meta": args.Meta, "received": len(data), "sha256": Sha256Hex(data)})
	_ = os.WriteFile(filepath.Join(f.Dir, name), data, 0o644)
	_ = os.WriteFile(filepath.Join(f.Dir, name+".meta"), meta, 0o644)
}

// Download is a server.DownloadFileHandler reading from Dir; "content-<n>" names are generated.
func (f Files) Download(conn net.Conn, args *share.DownloadFileArgs) {
	defer conn.Close()
	var n int
	if _, err := fmt.Sscanf(args.FileName, "content-%d", &n); err == nil && n >= 0 && n <= 1<<30 {
		_, _ = conn.Write(Content(n))
		return
	}
	name := filepath.Base(args.FileName)
	data, err := os.ReadFile(filepath.Join(f.Dir, name))
	if err != nil {
		return
	}
	_, _ = conn.Write(data)
}
