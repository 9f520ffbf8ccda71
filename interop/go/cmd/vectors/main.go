// Command vectors writes the golden vector files in interop/vectors (see interop/VECTORS.md)
// using rpcx v1.9.4's own protocol, codec, client and server code.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/rpcx-node/interop/internal/frames"
	"github.com/rpcx-node/interop/internal/values"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"
)

// Vector is one golden frame.
type Vector struct {
	Name     string       `json:"name"`
	Hex      string       `json:"hex"`
	Fields   Fields       `json:"fields"`
	Value    *VectorValue `json:"value,omitempty"`
	Note     string       `json:"note,omitempty"`
	Volatile []string     `json:"volatile,omitempty"`
}

// VectorValue describes the Go value in a codec vector's payload.
type VectorValue struct {
	Case          string `json:"case"`
	GoType        string `json:"goType"`
	SerializeType int    `json:"serializeType"`
	Canonical     any    `json:"canonical"`
}

// Fields is what protocol.Message.Decode yields for a frame (see internal/frames).
type Fields = frames.Fields

// MaxPayloadHex is the largest payload whose hex is written into fields.payloadHex.
const MaxPayloadHex = frames.MaxPayloadHex

type generator struct {
	file string
	gen  func() ([]Vector, error)
}

var generators []generator

// register adds a generator for a file in the output folder; several generators may write
// into the same file.
func register(file string, gen func() ([]Vector, error)) {
	generators = append(generators, generator{file, gen})
}

// decodeFields decodes frame with Go's protocol.Message.Decode and describes the result.
func decodeFields(frame []byte) (Fields, error) { return frames.Decode(frame) }

// frameVector decodes frame with protocol.Message.Decode and fills Fields per VECTORS.md.
// Frames with more than one metadata entry get volatile "metadataOrder".
func frameVector(name string, frame []byte, note string) (Vector, error) {
	f, err := decodeFields(frame)
	if err != nil {
		return Vector{}, fmt.Errorf("%s: %w", name, err)
	}
	v := Vector{Name: name, Hex: hex.EncodeToString(frame), Fields: f, Note: note}
	if len(f.Metadata) > 1 {
		v.Volatile = append(v.Volatile, "metadataOrder")
	}
	return v, nil
}

var serializeNames = map[protocol.SerializeType]string{
	protocol.SerializeNone: "raw",
	protocol.JSON:          "json",
	protocol.ProtoBuffer:   "protobuf",
	protocol.MsgPack:       "msgpack",
	protocol.Thrift:        "thrift",
}

// codecVector builds a request frame (path "Codec", method = case name, seq 1, no metadata)
// whose payload is c.Value encoded by share.Codecs[st]. It checks that Go decodes the
// payload back into a value equal to c.Value. MsgPack payloads of values holding a map with
// more than one entry get volatile "payload" (map order is random).
func codecVector(c values.Case, st protocol.SerializeType) (Vector, error) {
	codec := share.Codecs[st]
	if codec == nil {
		return Vector{}, fmt.Errorf("no codec %d", st)
	}
	payload, err := codec.Encode(c.Value)
	if err != nil {
		// codecs that need a pointer (protobuf, thrift structs) get one
		pv := reflect.New(reflect.TypeOf(c.Value))
		pv.Elem().Set(reflect.ValueOf(c.Value))
		var err2 error
		payload, err2 = codec.Encode(pv.Interface())
		if err2 != nil {
			return Vector{}, fmt.Errorf("case %s: encode with %d: %v", c.Name, st, err)
		}
	}
	payload = append([]byte(nil), payload...)
	// Go must read its own bytes back
	got := c.New()
	if err := codec.Decode(append([]byte(nil), payload...), got); err != nil {
		return Vector{}, fmt.Errorf("case %s: Go cannot decode its own %d payload: %v", c.Name, st, err)
	}
	if !c.Check(got) {
		return Vector{}, fmt.Errorf("case %s: Go round trip with codec %d differs: %#v", c.Name, st, got)
	}

	m := protocol.NewMessage()
	m.SetMessageType(protocol.Request)
	m.SetSerializeType(st)
	m.SetSeq(1)
	m.ServicePath = "Codec"
	m.ServiceMethod = c.Name
	m.Payload = payload
	sn := serializeNames[st]
	if sn == "" {
		sn = strconv.Itoa(int(st))
	}
	v, err := frameVector("codec/"+sn+"/"+c.Name, m.Encode(), "")
	if err != nil {
		return v, err
	}
	v.Value = &VectorValue{
		Case:          c.Name,
		GoType:        fmt.Sprintf("%T", c.Value),
		SerializeType: int(st),
		Canonical:     c.CanonicalOf(),
	}
	if st == protocol.MsgPack && hasMultiMap(reflect.ValueOf(c.Value)) {
		v.Volatile = append(v.Volatile, "payload")
		v.Note = "map with more than one entry: vmihailenco/msgpack writes entries in Go map order, random per encode; payload bytes vary (length does not)"
	}
	return v, nil
}

func hasMultiMap(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Map:
		if v.Len() > 1 {
			return true
		}
		for _, k := range v.MapKeys() {
			if hasMultiMap(v.MapIndex(k)) {
				return true
			}
		}
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && hasMultiMap(v.Elem())
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if hasMultiMap(v.Index(i)) {
				return true
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && hasMultiMap(v.Field(i)) {
				return true
			}
		}
	}
	return false
}

type vectorFile struct {
	Rpcx      string   `json:"rpcx"`
	Generator string   `json:"generator"`
	Vectors   []Vector `json:"vectors"`
}

func encodeFile(vs []Vector) ([]byte, error) {
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vectorFile{Rpcx: "v1.9.4", Generator: "interop/go/cmd/vectors", Vectors: vs}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// generate runs the generators for the selected files (all when only is empty).
func generate(only map[string]bool) (map[string][]Vector, error) {
	out := map[string][]Vector{}
	seen := map[string]string{}
	for _, g := range generators {
		if len(only) > 0 && !only[g.file] {
			continue
		}
		vs, err := g.gen()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.file, err)
		}
		for _, v := range vs {
			if prev, dup := seen[v.Name]; dup {
				return nil, fmt.Errorf("duplicate vector name %q in %s and %s", v.Name, prev, g.file)
			}
			seen[v.Name] = g.file
		}
		out[g.file] = append(out[g.file], vs...)
	}
	return out, nil
}

func main() {
	outDir := flag.String("out", "../vectors", "output folder")
	onlyFlag := flag.String("only", "", "comma-separated file names to write (default: all)")
	flag.Parse()
	only := map[string]bool{}
	for _, f := range strings.Split(*onlyFlag, ",") {
		if f = strings.TrimSpace(f); f != "" {
			only[f] = true
		}
	}
	files, err := generate(only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vectors:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "vectors:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		b, err := encodeFile(files[f])
		if err != nil {
			fmt.Fprintln(os.Stderr, "vectors:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(*outDir, f), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "vectors:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "%s: %d vectors\n", f, len(files[f]))
	}
}
