package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smallnest/rpcx/protocol"
)

// startProcess runs main() in a child process (the test binary itself).
func startProcess(t *testing.T, args ...string) (cmd *exec.Cmd, key string, stdout *bufio.Reader) {
	t.Helper()
	cmd = exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	cmd.Stderr = io.Discard
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	stdout = bufio.NewReader(pipe)
	line, err := stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("reading address line: %v", err)
	}
	line = strings.TrimSuffix(line, "\n")
	if !addrLine.MatchString(line) {
		t.Fatalf("address line %q", line)
	}
	return cmd, strings.TrimPrefix(line, "listening "), stdout
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(5 * time.Second):
		t.Fatal("process did not exit")
		return -1
	}
}

func TestProcessSIGTERM(t *testing.T) {
	cmd, key, stdout := startProcess(t)
	mul(t, newXClient(t, key, "Arith", protocol.MsgPack, nil))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	if len(rest) != 0 {
		t.Errorf("stdout after the address line: %q", rest)
	}
}

func TestProcessExitAfter(t *testing.T) {
	cmd, key, _ := startProcess(t, "-exit-after", "2")
	xc := newXClient(t, key, "Arith", protocol.MsgPack, nil)
	mul(t, xc)
	start := time.Now()
	var r struct{ C int }
	if err := xc.Call(callCtx(t), "Mul", &struct{ A, B int }{1, 2}, &r); err == nil {
		t.Errorf("second call succeeded with %d", r.C)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("second call failed after %v", d)
	}
	if code := waitExit(t, cmd); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
}

func TestProcessMaxMessageLength(t *testing.T) {
	_, key, _ := startProcess(t, "-max-message-length", "200")
	big := newXClient(t, key, "Echo", protocol.SerializeNone, nil)
	var got []byte
	if err := big.Call(callCtx(t), "Bytes", make([]byte, 300), &got); err == nil {
		t.Errorf("oversize frame got a reply of %d bytes", len(got))
	}
	if err := newXClient(t, key, "Echo", protocol.SerializeNone, nil).Call(callCtx(t), "Bytes", make([]byte, 100), &got); err != nil || len(got) != 100 {
		t.Errorf("small frame on another connection: %d bytes, %v", len(got), err)
	}
}
