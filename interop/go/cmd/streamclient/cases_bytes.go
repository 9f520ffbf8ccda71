package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"

	"github.com/rpcx-node/interop/internal/streams"
)

const MiB = 1024 * 1024

// echoRoundTrip writes data, half-closes (CloseWrite), reads to EOF and checks the echo and the
// 8-byte count trailer the server writes after it saw the half-close.
func echoRoundTrip(conn net.Conn, data []byte) error {
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(data)
		if err == nil {
			err = conn.(*net.TCPConn).CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(conn)
	if err != nil {
		return failf("read: %v (after %d bytes)", err, len(got))
	}
	if err := <-werr; err != nil {
		return failf("write: %v", err)
	}
	if len(got) != len(data)+8 {
		return failf("got %d bytes, want %d + 8-byte trailer", len(got), len(data))
	}
	if streams.Sha256Hex(got[:len(data)]) != streams.Sha256Hex(data) {
		return failf("echoed bytes differ (sha256)")
	}
	if n := binary.BigEndian.Uint64(got[len(data):]); n != uint64(len(data)) {
		return failf("trailer says the server read %d bytes, want %d", n, len(data))
	}
	return nil
}

// 63: 16 MiB each way through XClient.Stream, MsgPack (Go's default) and JSON token calls.
func caseStreamEcho(t *T) error {
	for _, v := range []struct {
		st   protocol.SerializeType
		size int
	}{{protocol.MsgPack, 16 * MiB}, {protocol.JSON, 1 * MiB}} {
		x := t.xclient(share.StreamServiceName, v.st)
		conn, err := x.Stream(t.ctx(), map[string]string{"case": "stream_echo"})
		if err != nil {
			return failf("Stream (serialize %d): %v", v.st, err)
		}
		t.defer_(func() { _ = conn.Close() })
		if err := echoRoundTrip(conn, streams.Content(v.size)); err != nil {
			return failf("serialize %d: %v", v.st, err)
		}
	}
	return nil
}

// token gets a StreamServiceReply by calling Stream directly (XClient.Stream hides the token).
func (t *T) token() (*share.StreamServiceReply, error) {
	x := t.xclient(share.StreamServiceName, protocol.MsgPack)
	reply := &share.StreamServiceReply{}
	if err := x.Call(t.ctx(), "Stream", share.StreamServiceArgs{Meta: map[string]string{"case": "stream_token_rejected"}}, reply); err != nil {
		return nil, err
	}
	if len(reply.Token) != 32 {
		return nil, failf("token of %d bytes", len(reply.Token))
	}
	return reply, nil
}

func dialSide(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, 5*time.Second)
}

// closedWithoutAByte checks that the server closes conn without sending anything, within d.
func closedWithoutAByte(conn net.Conn, d time.Duration, what string) error {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 16)
	n, err := conn.Read(buf)
	if n > 0 {
		return failf("%s: server sent % x", what, buf[:n])
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return failf("%s: connection still open after %s", what, d)
	}
	if err != io.EOF && !strings.Contains(fmt.Sprint(err), "reset") {
		return failf("%s: %v, want EOF or reset", what, err)
	}
	return nil
}

// 64: a wrong, reused, short or late token, or a silent connection, closes only that connection.
func caseTokenRejected(t *T) error {
	good, err := t.token()
	if err != nil {
		return err
	}
	a, err := dialSide(good.Addr)
	if err != nil {
		return err
	}
	t.defer_(func() { _ = a.Close() })
	if _, err := a.Write(good.Token); err != nil {
		return err
	}
	// The silent connection goes first: with Go's accept loop it would block everything after it.
	var silent net.Conn
	if t.e.tokenReadTimeout > 0 {
		if silent, err = dialSide(good.Addr); err != nil {
			return err
		}
		t.defer_(func() { _ = silent.Close() })
	}
	wrong := make([]byte, 32)
	_, _ = rand.Read(wrong)
	for _, c := range []struct {
		what  string
		bytes []byte
		half  bool
	}{
		{"wrong token", wrong, false},
		{"reused token", good.Token, false},
		{"5-byte token then half-close", []byte("short"), true},
	} {
		conn, err := dialSide(good.Addr)
		if err != nil {
			return err
		}
		t.defer_(func() { _ = conn.Close() })
		if _, err := conn.Write(c.bytes); err != nil {
			return failf("%s: write: %v", c.what, err)
		}
		if c.half {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
		if err := closedWithoutAByte(conn, 3*time.Second, c.what); err != nil {
			return err
		}
	}
	// A fresh token still works while the silent connection waits.
	b, err := t.token()
	if err != nil {
		return err
	}
	bc, err := dialSide(b.Addr)
	if err != nil {
		return err
	}
	t.defer_(func() { _ = bc.Close() })
	_, _ = bc.Write(b.Token)
	if err := echoRoundTrip(bc, []byte("beside a silent client")); err != nil {
		return failf("second stream: %v", err)
	}
	if silent != nil {
		if err := closedWithoutAByte(silent, t.e.tokenReadTimeout+3*time.Second, "silent connection"); err != nil {
			return err
		}
	} else {
		t.set("silent_check", "skipped: no -token-read-timeout")
	}
	if t.e.tokenTTL > 0 {
		late, err := t.token()
		if err != nil {
			return err
		}
		time.Sleep(t.e.tokenTTL + t.e.tokenTTL/2 + 50*time.Millisecond)
		lc, err := dialSide(late.Addr)
		if err != nil {
			return err
		}
		t.defer_(func() { _ = lc.Close() })
		_, _ = lc.Write(late.Token)
		if err := closedWithoutAByte(lc, 3*time.Second, "expired token"); err != nil {
			return err
		}
	} else {
		t.set("late_check", "skipped: no -token-ttl")
	}
	// The first connection was never disturbed.
	if err := echoRoundTrip(a, streams.Content(64*1024)); err != nil {
		return failf("first stream after the rejections: %v", err)
	}
	return nil
}

// 65: SendFile of 0 B, 1 KiB and 10 MiB with metadata; the sha256 of each is in the output
// (file_<size>_sha256) for the harness to compare with what its server received.
func caseFileUpload(t *T) error {
	dir := t.e.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "streamclient-")
		if err != nil {
			return err
		}
		t.defer_(func() { _ = os.RemoveAll(d) })
		dir = d
	}
	x := t.xclient(share.SendFileServiceName, protocol.MsgPack)
	for _, size := range []int{0, 1024, 10 * MiB} {
		data := streams.Content(size)
		name := fmt.Sprintf("up-go-%d.bin", size)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		meta := map[string]string{"case": "file_upload", "size": fmt.Sprint(size), "ünï": "cødé"}
		if err := x.SendFile(t.ctx(), path, 0, meta); err != nil {
			return failf("SendFile %d bytes: %v", size, err)
		}
		t.set(fmt.Sprintf("file_%d_sha256", size), streams.Sha256Hex(data))
	}
	return nil
}

// 66: DownloadFile of content-<size> for 0 B, 1 KiB and 10 MiB, and of a missing file (0 bytes).
func caseFileDownload(t *T) error {
	x := t.xclient(share.SendFileServiceName, protocol.MsgPack)
	for _, size := range []int{0, 1024, 10 * MiB} {
		var buf bytes.Buffer
		if err := x.DownloadFile(t.ctx(), fmt.Sprintf("content-%d", size), &buf, map[string]string{"case": "file_download"}); err != nil {
			return failf("DownloadFile %d: %v", size, err)
		}
		if buf.Len() != size || streams.Sha256Hex(buf.Bytes()) != streams.Sha256Hex(streams.Content(size)) {
			return failf("DownloadFile %d: got %d bytes, sha256 %s", size, buf.Len(), streams.Sha256Hex(buf.Bytes()))
		}
	}
	var buf bytes.Buffer
	if err := x.DownloadFile(t.ctx(), "no-such-file", &buf, nil); err != nil {
		return failf("missing file: %v, want success with 0 bytes (Go)", err)
	}
	if buf.Len() != 0 {
		return failf("missing file: %d bytes", buf.Len())
	}
	return nil
}
