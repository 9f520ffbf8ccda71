// Package frames describes a frame as Go's protocol.Message.Decode sees it, in the "fields"
// form of interop/VECTORS.md. Used by the vector generator and by cmd/framecheck.
package frames

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/smallnest/rpcx/protocol"
)

// Fields is what protocol.Message.Decode yields for a frame.
type Fields struct {
	Version           int         `json:"version"`
	MessageType       int         `json:"messageType"`
	Heartbeat         bool        `json:"heartbeat"`
	Oneway            bool        `json:"oneway"`
	CompressType      int         `json:"compressType"`
	MessageStatusType int         `json:"messageStatusType"`
	SerializeType     int         `json:"serializeType"`
	Seq               string      `json:"seq"`
	ServicePathHex    string      `json:"servicePathHex"`
	ServicePath       *string     `json:"servicePath,omitempty"`
	ServiceMethodHex  string      `json:"serviceMethodHex"`
	ServiceMethod     *string     `json:"serviceMethod,omitempty"`
	Metadata          [][2]string `json:"metadata"`
	PayloadHex        *string     `json:"payloadHex,omitempty"`
	PayloadLength     int         `json:"payloadLength"`
	PayloadSha256     string      `json:"payloadSha256"`
	WirePayloadLength int         `json:"wirePayloadLength"`
}

// MaxPayloadHex is the largest payload whose hex is written into fields.payloadHex.
const MaxPayloadHex = 65536

// Decode decodes frame with Go's protocol.Message.Decode and describes the result.
func Decode(frame []byte) (Fields, error) {
	var f Fields
	if len(frame) < 16 {
		return f, errors.New("frame shorter than 16 bytes")
	}
	total := binary.BigEndian.Uint32(frame[12:16])
	if int(total)+16 != len(frame) {
		return f, fmt.Errorf("frame is %d bytes but 16+totalLen = %d", len(frame), int(total)+16)
	}
	m := protocol.NewMessage()
	if err := m.Decode(bytes.NewReader(frame)); err != nil {
		return f, fmt.Errorf("Go Decode failed: %w", err)
	}
	f.Version = int(m.Version())
	f.MessageType = int(m.MessageType())
	f.Heartbeat = m.IsHeartbeat()
	f.Oneway = m.IsOneway()
	f.CompressType = int(m.CompressType())
	f.MessageStatusType = int(m.MessageStatusType())
	f.SerializeType = int(m.SerializeType())
	f.Seq = strconv.FormatUint(m.Seq(), 10)
	f.ServicePathHex = hex.EncodeToString([]byte(m.ServicePath))
	if utf8.ValidString(m.ServicePath) {
		s := m.ServicePath
		f.ServicePath = &s
	}
	f.ServiceMethodHex = hex.EncodeToString([]byte(m.ServiceMethod))
	if utf8.ValidString(m.ServiceMethod) {
		s := m.ServiceMethod
		f.ServiceMethod = &s
	}
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	f.Metadata = [][2]string{}
	for _, k := range keys {
		f.Metadata = append(f.Metadata, [2]string{hex.EncodeToString([]byte(k)), hex.EncodeToString([]byte(m.Metadata[k]))})
	}
	if len(m.Payload) <= MaxPayloadHex {
		s := hex.EncodeToString(m.Payload)
		f.PayloadHex = &s
	}
	f.PayloadLength = len(m.Payload)
	sum := sha256.Sum256(m.Payload)
	f.PayloadSha256 = hex.EncodeToString(sum[:])
	// wire payload length: walk the three length-prefixed parts after the 16-byte prefix
	off := 16
	for i := 0; i < 3; i++ {
		off += 4 + int(binary.BigEndian.Uint32(frame[off:off+4]))
	}
	f.WirePayloadLength = int(binary.BigEndian.Uint32(frame[off : off+4]))
	return f, nil
}
