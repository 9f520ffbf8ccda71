package main

import (
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"

	"github.com/rpcx-node/interop/internal/streams"
)

func (t *T) open(path, method string, st protocol.SerializeType) (*streams.Conn, error) {
	x := t.xclient(share.StreamServiceName, protocol.MsgPack)
	c, err := streams.Open(t.ctx(), x, path, method, st, map[string]string{"case": "go"})
	if err != nil {
		return nil, err
	}
	t.defer_(func() { _ = c.Close() })
	return c, nil
}

// 67: gRPC RouteChat (MsgPack) with both sides sending and receiving at once, CloseSend ending
// the server's reader and then ours with end-of-stream; go-micro PingPong (JSON).
func caseBidi(t *T) error {
	c, err := t.open("RouteGuide", "RouteChat", protocol.MsgPack)
	if err != nil {
		return err
	}
	note := func(lat, lng int32, m string) streams.RouteNote {
		return streams.RouteNote{Location: streams.Point{Latitude: lat, Longitude: lng}, Message: m}
	}
	first := make(chan struct{})
	type recvResult struct {
		notes []streams.RouteNote
		err   error
	}
	done := make(chan recvResult, 1)
	go func() {
		var got []streams.RouteNote
		for {
			var n streams.RouteNote
			if err := c.Recv(&n); err != nil {
				if err == io.EOF {
					err = nil
				}
				done <- recvResult{got, err}
				return
			}
			got = append(got, n)
			if len(got) == 1 {
				close(first)
			}
		}
	}()
	sent := []streams.RouteNote{note(1, 1, "m0"), note(1, 1, "m1")}
	for _, n := range sent {
		if err := c.Send(&n); err != nil {
			return err
		}
	}
	select {
	case <-first: // a reply while still sending
	case r := <-done:
		return failf("stream ended before the first reply: %v", r.err)
	}
	for i := 2; i < 20; i++ {
		n := note(int32(i%4), -int32(i%4), fmt.Sprintf("m%d", i))
		sent = append(sent, n)
		if err := c.Send(&n); err != nil {
			return err
		}
	}
	if err := c.CloseSend(); err != nil {
		return err
	}
	r := <-done
	if r.err != nil {
		return failf("Recv: %v", r.err)
	}
	var want []streams.RouteNote
	for i := range sent {
		for j := 0; j < i; j++ {
			if sent[j].Location == sent[i].Location {
				want = append(want, sent[j])
			}
		}
	}
	if !reflect.DeepEqual(r.notes, want) {
		return failf("RouteChat got %v\nwant %v", r.notes, want)
	}

	pp, err := t.open("Example", "PingPong", protocol.JSON)
	if err != nil {
		return err
	}
	for i := int64(1); i <= 10; i++ {
		if err := pp.Send(&streams.Ping{Stroke: i}); err != nil {
			return err
		}
		var p streams.Pong
		if err := pp.Recv(&p); err != nil {
			return failf("PingPong Recv %d: %v", i, err)
		}
		if p.Stroke != i {
			return failf("Pong %d, want %d", p.Stroke, i)
		}
	}
	_ = pp.CloseSend()
	var p streams.Pong
	if err := pp.Recv(&p); err != io.EOF {
		return failf("PingPong after CloseSend: %v, want io.EOF", err)
	}
	return nil
}

// 68: go-micro Stream: one request, 100 replies, end-of-stream.
func caseServerStream(t *T) error {
	c, err := t.open("Example", "Stream", protocol.MsgPack)
	if err != nil {
		return err
	}
	if err := c.Send(&streams.StreamingRequest{Count: 100}); err != nil {
		return err
	}
	_ = c.CloseSend()
	for i := int64(0); ; i++ {
		var r streams.StreamingResponse
		err := c.Recv(&r)
		if err == io.EOF {
			if i != 100 {
				return failf("end-of-stream after %d replies, want 100", i)
			}
			return nil
		}
		if err != nil {
			return failf("Recv %d: %v", i, err)
		}
		if r.Count != i {
			return failf("reply %d has Count %d", i, r.Count)
		}
	}
}

// 69: a handler error arrives as an error frame with its text; an unknown method with rpcx's
// text; a caller that aborts (closes with RST) ends the server's handler (the harness checks).
func caseErrorAndCancel(t *T) error {
	c, err := t.open("Example", "Fail", protocol.MsgPack)
	if err != nil {
		return err
	}
	if err := c.Send(&streams.StreamingRequest{Count: 3}); err != nil {
		return err
	}
	_ = c.CloseSend()
	for i := int64(0); i < 3; i++ {
		var r streams.StreamingResponse
		if err := c.Recv(&r); err != nil || r.Count != i {
			return failf("reply %d: %v %v", i, r, err)
		}
	}
	var r streams.StreamingResponse
	var re streams.RemoteError
	if err := c.Recv(&r); !errors.As(err, &re) || string(re) != "stream failed after 3 replies" {
		return failf("after 3 replies: %v, want the error frame %q", err, "stream failed after 3 replies")
	}
	u, err := t.open("Example", "Nope", protocol.MsgPack)
	if err != nil {
		return err
	}
	_ = u.CloseSend()
	if err := u.Recv(&r); !errors.As(err, &re) || string(re) != "rpcx: can't find method Nope" {
		return failf("unknown method: %v", err)
	}
	e, err := t.open("Example", "Endless", protocol.MsgPack)
	if err != nil {
		return err
	}
	if err := e.Send(&struct{ Count, Size int64 }{0, 100}); err != nil {
		return err
	}
	for i := int64(0); i < 50; i++ {
		var p streams.Payload
		if err := e.Recv(&p); err != nil || p.N != i {
			return failf("Endless %d: %v %v", i, p.N, err)
		}
	}
	e.Abort()
	return nil
}
