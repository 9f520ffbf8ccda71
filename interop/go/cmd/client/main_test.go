package main

// GG self-check: the cases against the Go server peer (cmd/server), built
// once and run as a separate process (protocol.MaxMessageLength is
// process-global, so the server must not share this process).

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// goServerSkips are the cases the Go server peer cannot pass, with why:
// both need a server method that only the TS server offers.
var goServerSkips = map[string]string{
	"handler_throws":      "Go handlers cannot throw; the Go server has no Echo.Throw",
	"push_broadcast":      "rpcx has no broadcast API; the Go server has no Push.Broadcast",
	"server_calls_client": "Go rpcx servers do not call clients; the Go server has no Session",
	"push_by_user":        "the Go server has no Session service (Go programs keep their own map of connections)",
	"watch_long_poll":     "the Go server has no KV service",
}

var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rpcx-client-test-")
	if err != nil {
		panic(err)
	}
	serverBin = filepath.Join(dir, "server")
	cmd := exec.Command("go", "build", "-o", serverBin, "../server")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		panic("building cmd/server: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startGoServer runs the server peer with args and returns its key and
// process.
func startGoServer(t *testing.T, args ...string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(serverBin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("server address line: %v", err)
	}
	go io.Copy(io.Discard, out)
	return strings.TrimPrefix(strings.TrimSpace(line), "listening "), cmd
}

// syncWriter lets a test watch the client's stderr.
type syncWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	seen func(string)
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.seen != nil {
		w.seen(string(p))
	}
	return len(p), nil
}

// runClient runs realMain in-process and returns the result lines by case.
func runClient(t *testing.T, stderr io.Writer, args ...string) map[string]map[string]any {
	t.Helper()
	var out bytes.Buffer
	if stderr == nil {
		stderr = io.Discard
	}
	if code := realMain(args, &out, stderr); code != 0 {
		t.Fatalf("client exit code %d", code)
	}
	res := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad output line %q: %v", line, err)
		}
		res[m["case"].(string)] = m
	}
	return res
}

// expect checks that every named case passed (not skipped) and that the
// others listed in skipped were skipped.
func expect(t *testing.T, res map[string]map[string]any, pass []string, skipped map[string]string) {
	t.Helper()
	for _, name := range pass {
		r, ok := res[name]
		if !ok {
			t.Errorf("%s: no result", name)
			continue
		}
		if r["ok"] != true {
			t.Errorf("%s failed: %v", name, r["error"])
		} else if s, ok := r["skipped"]; ok {
			t.Errorf("%s skipped: %v", name, s)
		}
	}
	for name, why := range skipped {
		r, ok := res[name]
		if !ok {
			continue
		}
		if r["ok"] != true || r["skipped"] == nil {
			t.Errorf("%s: want skipped (%s), got %v", name, why, r)
		}
	}
}

func names(except ...string) []string {
	ex := map[string]bool{}
	for _, e := range except {
		ex[e] = true
	}
	var out []string
	for _, c := range sortedCases() {
		if !ex[c.name] {
			out = append(out, c.name)
		}
	}
	return out
}

func TestListMatchesCaseTable(t *testing.T) {
	var out bytes.Buffer
	if code := realMain([]string{"-list"}, &out, io.Discard); code != 0 {
		t.Fatal(code)
	}
	got := strings.Fields(out.String())
	if strings.Join(got, ",") != strings.Join(caseOrder, ",") {
		t.Fatalf("-list = %v\nwant %v", got, caseOrder)
	}
	if code := realMain([]string{"-addr", "tcp@127.0.0.1:1", "-case", "nope"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("unknown case: exit %d, want 2", code)
	}
	if code := realMain([]string{"-case", "oneway"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("missing -addr: exit %d, want 2", code)
	}
}

// needsSetup are the cases that skip unless the run has a special setup.
var needsSetup = []string{"heartbeat_keeps_idle_alive", "auth_ok", "auth_rejected_closes", "max_message_length", "unix_socket", "tls"}

func TestGoServerPlain(t *testing.T) {
	key, _ := startGoServer(t)
	except := append([]string{"handler_throws", "push_broadcast", "server_calls_client", "push_by_user", "watch_long_poll"}, needsSetup...)
	res := runClient(t, nil, "-addr", key, "-timeout", "20s")
	expect(t, res, names(except...), goServerSkips)
	if m, ok := res["bad_args"]["go_text_mismatch"]; ok {
		t.Errorf("bad_args: the Go server's codec texts changed: %v", m)
	}
	for _, n := range needsSetup {
		if r := res[n]; r["ok"] != true || r["skipped"] == nil {
			t.Errorf("%s without setup: want skipped, got %v", n, r)
		}
	}
}

func TestGoServerAuthReadTimeoutMaxLength(t *testing.T) {
	key, _ := startGoServer(t, "-auth", "s3cret", "-read-timeout", "1s", "-max-message-length", "200000")
	cases := []string{"auth_ok", "auth_rejected_closes", "heartbeat_keeps_idle_alive", "max_message_length",
		"arith_msgpack", "metadata_round_trip", "metadata_many_entries", "unicode_strings", "bad_args",
		"heartbeat_echo_exact", "oneway", "push_basic", "garbage_bytes"}
	res := runClient(t, nil, "-addr", key, "-auth", "s3cret", "-read-timeout", "1s",
		"-max-message-length", "200000", "-case", strings.Join(cases, ","))
	expect(t, res, cases, nil)
}

func TestGoServerUnix(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	key, _ := startGoServer(t, "-network", "unix", "-addr", sock)
	cases := []string{"unix_socket", "heartbeat_echo_exact", "garbage_bytes", "large_payload", "gzip_above_threshold"}
	res := runClient(t, nil, "-addr", key, "-case", strings.Join(cases, ","))
	expect(t, res, cases, nil)
}

func TestGoServerTLS(t *testing.T) {
	dir := t.TempDir()
	writeTestPKI(t, dir)
	key, _ := startGoServer(t, "-tls-cert", filepath.Join(dir, "srv.pem"), "-tls-key", filepath.Join(dir, "srv.key"))
	cases := []string{"tls", "heartbeat_echo_exact", "garbage_bytes", "push_basic"}
	res := runClient(t, nil, "-addr", key, "-tls-ca", filepath.Join(dir, "ca.pem"), "-case", strings.Join(cases, ","))
	expect(t, res, cases, nil)
}

func TestGoServerGracefulShutdown(t *testing.T) {
	key, cmd := startGoServer(t)
	var once sync.Once
	w := &syncWriter{seen: func(s string) {
		if strings.Contains(s, "INFLIGHT graceful_shutdown_in_flight") {
			once.Do(func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
		}
	}}
	res := runClient(t, w, "-addr", key, "-case", "graceful_shutdown_in_flight", "-inflight", "10", "-inflight-sleep", "1500ms")
	expect(t, res, []string{"graceful_shutdown_in_flight"}, nil)
	r := res["graceful_shutdown_in_flight"]
	if r["succeeded"] != float64(10) {
		t.Errorf("succeeded = %v, want 10", r["succeeded"])
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("server did not exit after SIGTERM")
	}
}

// writeTestPKI writes ca.pem, srv.pem and srv.key (for 127.0.0.1) to dir.
func writeTestPKI(t *testing.T, dir string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "interop test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*pem.Block{
		"ca.pem":  {Type: "CERTIFICATE", Bytes: caDER},
		"srv.pem": {Type: "CERTIFICATE", Bytes: srvDER},
		"srv.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
