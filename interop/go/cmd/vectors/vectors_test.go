package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpcx-node/interop/internal/values"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"
)

const vectorsDir = "../../../vectors"

// ownFiles are the files this package's generators write (others register more).
var ownFiles = []string{"frames.json", "behaviour.json", "codec-raw.json", "codec-json.json", "codec-msgpack.json"}

func readVectorFile(t *testing.T, path string) vectorFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWrittenVectorsDecode re-decodes every vector in every file of interop/vectors with Go's
// protocol.Message.Decode and checks the recorded fields, and for codec vectors that the
// payload decodes to the case's value.
func TestWrittenVectorsDecode(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(vectorsDir, "*.json"))
	if len(files) == 0 {
		t.Skip("no vector files; run go run ./cmd/vectors first")
	}
	names := map[string]string{}
	for _, path := range files {
		f := readVectorFile(t, path)
		if f.Rpcx != "v1.9.4" || f.Generator != "interop/go/cmd/vectors" {
			t.Errorf("%s: header %q %q", path, f.Rpcx, f.Generator)
		}
		for i, v := range f.Vectors {
			if prev, dup := names[v.Name]; dup {
				t.Errorf("%s: vector %s also in %s", path, v.Name, prev)
			}
			names[v.Name] = path
			if i > 0 && f.Vectors[i-1].Name >= v.Name {
				t.Errorf("%s: vectors not sorted at %s", path, v.Name)
			}
			frame, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Errorf("%s: bad hex: %v", v.Name, err)
				continue
			}
			got, err := decodeFields(frame)
			if err != nil {
				t.Errorf("%s: %v", v.Name, err)
				continue
			}
			if g, w := mustJSON(t, got), mustJSON(t, v.Fields); g != w {
				t.Errorf("%s: fields differ\n got  %s\n want %s", v.Name, g, w)
			}
			if v.Value == nil {
				continue
			}
			c, ok := values.Lookup(v.Value.Case)
			if !ok {
				t.Errorf("%s: unknown case %s", v.Name, v.Value.Case)
				continue
			}
			m := protocol.NewMessage()
			if err := m.Decode(bytes.NewReader(frame)); err != nil {
				t.Errorf("%s: %v", v.Name, err)
				continue
			}
			payload := m.Payload
			dst := c.New()
			if err := share.Codecs[protocol.SerializeType(v.Value.SerializeType)].Decode(payload, dst); err != nil {
				t.Errorf("%s: decode payload: %v", v.Name, err)
			} else if !c.Check(dst) {
				t.Errorf("%s: payload decodes to %#v", v.Name, dst)
			}
			if g, w := mustJSON(t, c.CanonicalOf()), mustJSON(t, v.Value.Canonical); g != w {
				t.Errorf("%s: canonical differs\n got  %s\n want %s", v.Name, g, w)
			}
		}
	}
}

// mask blanks what a vector's volatile list allows to differ between runs.
func mask(v Vector) Vector {
	for _, vol := range v.Volatile {
		switch vol {
		case "payload":
			v.Hex = ""
			v.Fields.PayloadHex = nil
			v.Fields.PayloadSha256 = ""
		case "seq":
			v.Hex = ""
			v.Fields.Seq = ""
		case "metadataOrder":
			v.Hex = ""
		}
	}
	return v
}

// TestRegenerateMatches regenerates this package's files in memory (behaviour.json talks to
// a real rpcx server and client on 127.0.0.1) and compares them with the written ones.
func TestRegenerateMatches(t *testing.T) {
	only := map[string]bool{}
	for _, f := range ownFiles {
		if _, err := os.Stat(filepath.Join(vectorsDir, f)); err != nil {
			t.Skipf("%s not written yet", f)
		}
		only[f] = true
	}
	gen, err := generate(only)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range ownFiles {
		written := readVectorFile(t, filepath.Join(vectorsDir, name))
		b, err := encodeFile(gen[name])
		if err != nil {
			t.Fatal(err)
		}
		var fresh vectorFile
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&fresh); err != nil {
			t.Fatal(err)
		}
		if len(fresh.Vectors) != len(written.Vectors) {
			t.Errorf("%s: %d vectors written, %d generated", name, len(written.Vectors), len(fresh.Vectors))
			continue
		}
		for i := range fresh.Vectors {
			g, w := mask(fresh.Vectors[i]), mask(written.Vectors[i])
			if mustJSON(t, g) != mustJSON(t, w) {
				t.Errorf("%s: vector %s differs from the written one", name, w.Name)
			}
		}
	}
}

// TestSpecWorkedExample checks rpcx-protocol.md §1.1's bytes against Go's.
func TestSpecWorkedExample(t *testing.T) {
	want := map[string]string{
		"frame/spec_example/request": "08000010000000000000000100000031" + "000000054172697468" + "000000034d756c" +
			"0000000a0000000161000000016200" + "00000f7b2241223a31302c2242223a32307d",
		"frame/spec_example/response": "08008010000000000000000100000021" + "000000054172697468000000034d756c" +
			"00000000000000097b2243223a3230307d",
	}
	for _, s := range frameSpecs() {
		w, ok := want[s.name]
		if !ok {
			continue
		}
		if got := hex.EncodeToString(s.encode()); got != w {
			t.Errorf("%s:\n got  %s\n spec %s", s.name, got, w)
		}
		delete(want, s.name)
	}
	if len(want) != 0 {
		t.Errorf("missing %v", want)
	}
	for _, s := range frameSpecs() {
		if s.name == "frame/spec_example/error_response" {
			b := s.encode()
			if len(b) != 16+0x4b || !strings.HasPrefix(hex.EncodeToString(b), "080081100000000000000001") {
				t.Errorf("error response: %x", b)
			}
		}
	}
}

// TestGzipEmptyWirePayload backs the note on frame/gzip/0: a frame with the gzip bit and a
// 0-byte wire payload fails Go's Decode with io.EOF.
func TestGzipEmptyWirePayload(t *testing.T) {
	s := spec{st: protocol.SerializeNone, seq: 7, path: "Gzip", method: "Echo"}
	b := s.encode()
	b[2] |= byte(protocol.Gzip) << 2
	err := protocol.NewMessage().Decode(bytes.NewReader(b))
	if err != io.EOF {
		t.Fatalf("Decode error %v, want io.EOF", err)
	}
}
