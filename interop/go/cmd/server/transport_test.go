package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/codec"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"

	"github.com/rpcx-node/interop/internal/services"
)

func mul(t *testing.T, xc client.XClient) {
	t.Helper()
	var r services.ArithReply
	if err := xc.Call(callCtx(t), "Mul", &services.ArithArgs{A: 6, B: 7}, &r); err != nil || r.C != 42 {
		t.Fatalf("Arith.Mul = %d, %v", r.C, err)
	}
}

func TestUnixAndHTTP(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	key := startServer(t, "-network", "unix", "-addr", sock)
	if key != "unix@"+sock {
		t.Errorf("key %q", key)
	}
	mul(t, newXClient(t, key, "Arith", protocol.MsgPack, nil))

	key = startServer(t, "-network", "http")
	if !strings.HasPrefix(key, "http@") {
		t.Errorf("key %q", key)
	}
	mul(t, newXClient(t, key, "Arith", protocol.MsgPack, nil))
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	pool := writeCert(t, dir)
	key := startServer(t, "-tls-cert", filepath.Join(dir, "cert.pem"), "-tls-key", filepath.Join(dir, "key.pem"))
	d, _ := client.NewPeer2PeerDiscovery(key, "")
	opt := client.DefaultOption
	opt.TLSConfig = &tls.Config{RootCAs: pool}
	xc := client.NewXClient("Arith", client.Failfast, client.RandomSelect, d, opt)
	defer xc.Close()
	mul(t, xc)
}

func writeCert(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600))
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuth(t *testing.T) {
	key := startServer(t, "-auth", "secret")
	xc := newXClient(t, key, "Arith", protocol.MsgPack, nil)
	xc.Auth("secret")
	mul(t, xc)

	// A wrong token gets the AuthFunc text, then the server closes the connection.
	conn, err := net.Dial("tcp", strings.TrimPrefix(key, "tcp@"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload, _ := (&codec.MsgpackCodec{}).Encode(&services.ArithArgs{A: 1, B: 2})
	req := protocol.NewMessage()
	req.SetSerializeType(protocol.MsgPack)
	req.SetSeq(7)
	req.ServicePath, req.ServiceMethod = "Arith", "Mul"
	req.Metadata = map[string]string{share.AuthKey: "wrong"}
	req.Payload = payload
	if _, err := conn.Write(req.Encode()); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	res := protocol.NewMessage()
	if err := res.Decode(conn); err != nil {
		t.Fatal(err)
	}
	if res.MessageStatusType() != protocol.Error || res.Seq() != 7 || res.Metadata[protocol.ServiceError] != AuthRejectText {
		t.Errorf("auth rejection: status %v seq %d meta %v", res.MessageStatusType(), res.Seq(), res.Metadata)
	}
	if n, err := conn.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("after auth rejection: read %d, %v; want EOF", n, err)
	}
}
