package main

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"net"
	"os"
)

// listen opens the listener for network ("tcp", "unix" or "http"; http
// listens on TCP). The returned cleanup removes a unix socket file.
func listen(network, addr string, tlsConfig *tls.Config) (net.Listener, func(), error) {
	cleanup := func() {}
	var (
		ln  net.Listener
		err error
	)
	switch network {
	case "unix":
		if addr == "" || addr == "127.0.0.1:0" {
			addr = defaultSocketPath()
		}
		if err := os.Remove(addr); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		ln, err = net.Listen("unix", addr)
		if err == nil {
			cleanup = func() { _ = os.Remove(addr) }
		}
	default:
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return nil, nil, err
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	return ln, cleanup, nil
}

func defaultSocketPath() string {
	f, err := os.CreateTemp("", "rpcx-interop-*.sock")
	if err != nil {
		return "rpcx-interop.sock"
	}
	name := f.Name()
	f.Close()
	return name // removed again before net.Listen
}

func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
