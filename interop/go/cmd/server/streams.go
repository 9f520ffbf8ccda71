package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/smallnest/rpcx/server"

	"github.com/rpcx-node/interop/internal/streams"
)

// streamFlags are the flags of the stream service and file transfer (cases 63-70).
type streamFlags struct {
	stream  bool   // -stream: EnableStreamService with streams.StreamHandler
	fileDir string // -file-dir: EnableFileTransfer saving uploads to / serving downloads from this dir
	waitNum int    // -stream-wait-num: the token LRU size (Go's waitNum)
}

func (f *streamFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.stream, "stream", false, "enable the stream service (echo with a count trailer, and the message streams of internal/streams); its address is advertised as :PORT")
	fs.StringVar(&f.fileDir, "file-dir", "", "enable file transfer: uploads saved in this directory (with <name>.meta), downloads served from it (content-<n>: generated)")
	fs.IntVar(&f.waitNum, "stream-wait-num", 1000, "waitNum of NewStreamService/NewFileTransfer")
}

// freeLoopbackPort picks a free loopback port. Go's services answer the address they were
// given, so port 0 cannot be used; the tiny race is acceptable for a test peer.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening polls until addr accepts (Go starts the side listeners in a goroutine).
func waitListening(addr string) error {
	for i := 0; i < 200; i++ {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("side listener " + addr + " did not start")
}

// enableStreams enables what the flags ask for on srv.
func (f *streamFlags) enable(srv *server.Server) error {
	if f.stream {
		port, err := freeLoopbackPort()
		if err != nil {
			return err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ss := server.NewStreamService(addr, streams.StreamHandler, nil, f.waitNum)
		ss.AdvertiseAddr = fmt.Sprintf(":%d", port) // empty host: "the local host" (deployment doc §1)
		srv.EnableStreamService("", ss)
		if err := srv.RegisterName("StreamProbe", streams.Probe{}, ""); err != nil {
			return err
		}
		if err := waitListening(addr); err != nil {
			return err
		}
	}
	if f.fileDir != "" {
		port, err := freeLoopbackPort()
		if err != nil {
			return err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		files := streams.Files{Dir: f.fileDir}
		ft := server.NewFileTransfer(addr, files.Upload, files.Download, f.waitNum)
		srv.EnableFileTransfer("", ft)
		if err := waitListening(addr); err != nil {
			return err
		}
	}
	return nil
}
