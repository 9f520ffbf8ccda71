// Package values holds the named Go values that the golden codec vectors carry and that
// cmd/codeccheck decodes payloads into. Each Case is registered from an init() in some file
// of this package.
package values

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/smallnest/rpcx/protocol"
)

// Case is one named Go value.
type Case struct {
	Name   string                   // e.g. "int64_max", "arith_args"
	New    func() any               // returns a pointer to a fresh zero value of the Go type
	Value  any                      // the Go value itself (not a pointer)
	Codecs []protocol.SerializeType // serialize types this case is encoded with
	// Equal is optional; the default is DefaultEqual.
	Equal func(a, b any) bool
	// Canonical is optional; the default is Canonical.
	Canonical func(v any) any
}

var (
	mu    sync.Mutex
	cases = map[string]Case{}
)

// Register adds a case; a duplicate name panics.
func Register(c Case) {
	mu.Lock()
	defer mu.Unlock()
	if c.Name == "" || c.New == nil {
		panic("values: case needs Name and New")
	}
	if _, dup := cases[c.Name]; dup {
		panic("values: duplicate case " + c.Name)
	}
	cases[c.Name] = c
}

// All returns every case sorted by Name.
func All() []Case {
	mu.Lock()
	defer mu.Unlock()
	out := make([]Case, 0, len(cases))
	for _, c := range cases {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a case by name.
func Lookup(name string) (Case, bool) {
	mu.Lock()
	defer mu.Unlock()
	c, ok := cases[name]
	return c, ok
}

// Check compares a decoded value (pointer or not) with the case's Value using c.Equal or
// DefaultEqual.
func (c Case) Check(decoded any) bool {
	v := reflect.ValueOf(decoded)
	if v.Kind() == reflect.Pointer && !v.IsNil() && reflect.TypeOf(c.Value) != v.Type() {
		decoded = v.Elem().Interface()
	}
	if c.Equal != nil {
		return c.Equal(c.Value, decoded)
	}
	return DefaultEqual(c.Value, decoded)
}

// CanonicalOf returns c.Canonical(c.Value) or Canonical(c.Value).
func (c Case) CanonicalOf() any {
	if c.Canonical != nil {
		return c.Canonical(c.Value)
	}
	return Canonical(c.Value)
}

// DefaultEqual is reflect.DeepEqual after normalisation: time.Time values are compared with
// time.Time.Equal (zone and monotonic clock ignored) and dynamic values held in interfaces
// (e.g. map[string]any) are compared by number value, so json.Number("1"), int8(1) and
// int64(1) are equal there. Statically typed fields are compared exactly.
func DefaultEqual(a, b any) bool {
	return reflect.DeepEqual(normalise(reflect.ValueOf(a), false), normalise(reflect.ValueOf(b), false))
}

var timeType = reflect.TypeOf(time.Time{})

type normTime struct{ unixNano string }

type normNumber struct{ text string }

func numberText(v reflect.Value) (string, bool) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(v.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if f == math.Trunc(f) && math.Abs(f) < 1e19 {
			bf := new(big.Float).SetFloat64(f)
			i, _ := bf.Int(nil)
			return i.String(), true
		}
		return strconv.FormatFloat(f, 'g', -1, 64), true
	}
	if v.Type() == reflect.TypeOf(json.Number("")) {
		s := v.String()
		if i, ok := new(big.Int).SetString(s, 10); ok {
			return i.String(), true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return numberText(reflect.ValueOf(f))
		}
		return s, true
	}
	return "", false
}

// normalise turns v into a structure of plain Go values that DeepEqual compares as wanted.
func normalise(v reflect.Value, dynamic bool) any {
	if !v.IsValid() {
		return nil
	}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		return normTime{big.NewInt(0).Add(big.NewInt(0).Mul(big.NewInt(t.Unix()), big.NewInt(1e9)), big.NewInt(int64(t.Nanosecond()))).String()}
	}
	if dynamic {
		if s, ok := numberText(v); ok {
			return normNumber{s}
		}
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return normalise(v.Elem(), true)
	case reflect.Pointer:
		if v.IsNil() {
			return fmt.Sprintf("nil %s", v.Type())
		}
		return []any{"ptr", normalise(v.Elem(), false)}
	case reflect.Struct:
		out := []any{"struct " + v.Type().String()}
		for i := 0; i < v.NumField(); i++ {
			out = append(out, normalise(v.Field(i), false))
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return fmt.Sprintf("nil %s", v.Type().String())
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return []any{"bytes " + v.Type().String(), string(v.Bytes())}
		}
		out := []any{"slice " + v.Type().String()}
		for i := 0; i < v.Len(); i++ {
			out = append(out, normalise(v.Index(i), false))
		}
		return out
	case reflect.Array:
		out := []any{"array " + v.Type().String()}
		for i := 0; i < v.Len(); i++ {
			out = append(out, normalise(v.Index(i), false))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return fmt.Sprintf("nil %s", v.Type().String())
		}
		m := map[any]any{}
		for _, k := range v.MapKeys() {
			m[fmt.Sprintf("%#v", normalise(k, false))] = normalise(v.MapIndex(k), false)
		}
		return []any{"map " + v.Type().String(), m}
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) {
			return "NaN " + v.Type().String()
		}
		return []any{v.Type().String(), f}
	}
	if v.CanInterface() {
		return []any{v.Type().String(), v.Interface()}
	}
	return fmt.Sprintf("%#v", v)
}

// Canonical returns the tagged-JSON form (interop/VECTORS.md) of a plain Go value.
func Canonical(v any) any {
	return canonical(reflect.ValueOf(v))
}

func bitsOf(k reflect.Kind) int {
	switch k {
	case reflect.Int8, reflect.Uint8:
		return 8
	case reflect.Int16, reflect.Uint16:
		return 16
	case reflect.Int32, reflect.Uint32, reflect.Float32:
		return 32
	case reflect.Int64, reflect.Uint64, reflect.Float64:
		return 64
	}
	return 0
}

// M is an ordered JSON object (keys written in the given order).
type M []KV

// KV is one member of M.
type KV struct {
	K string
	V any
}

// MarshalJSON writes the members in order.
func (m M) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, kv := range m {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(kv.K)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(kv.V)
		if err != nil {
			return nil, err
		}
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, val...)
	}
	return append(b, '}'), nil
}

func canonical(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		ns := new(big.Int).Add(new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(1e9)), big.NewInt(int64(t.Nanosecond())))
		return M{{"$time", t.Format(time.RFC3339Nano)}, {"unixNano", ns.String()}}
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return M{{"$int", strconv.FormatInt(v.Int(), 10)}, {"bits", bitsOf(v.Kind())}}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return M{{"$uint", strconv.FormatUint(v.Uint(), 10)}, {"bits", bitsOf(v.Kind())}}
	case reflect.Float32:
		return M{{"$float", strconv.FormatFloat(v.Float(), 'g', -1, 32)}, {"bits", 32}}
	case reflect.Float64:
		return M{{"$float", strconv.FormatFloat(v.Float(), 'g', -1, 64)}, {"bits", 64}}
	case reflect.Bool:
		return v.Bool()
	case reflect.String:
		return M{{"$string", hex.EncodeToString([]byte(v.String()))}}
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return canonical(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return M{{"$bytes", hex.EncodeToString(v.Bytes())}}
		}
		fallthrough
	case reflect.Array:
		items := make([]any, v.Len())
		for i := range items {
			items[i] = canonical(v.Index(i))
		}
		return M{{"$slice", items}}
	case reflect.Struct:
		fields := [][]any{}
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			fields = append(fields, []any{t.Field(i).Name, canonical(v.Field(i))})
		}
		return M{{"$struct", t.Name()}, {"fields", fields}}
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return compareKeys(keys[i], keys[j]) < 0 })
		entries := make([][]any, 0, len(keys))
		for _, k := range keys {
			entries = append(entries, []any{canonical(k), canonical(v.MapIndex(k))})
		}
		return M{{"$map", entries}}
	}
	panic(fmt.Sprintf("values.Canonical: unsupported kind %s (%s)", v.Kind(), v.Type()))
}

// compareKeys orders map keys as Go's fmt (internal/fmtsort) does for the kinds used here.
func compareKeys(a, b reflect.Value) int {
	if a.Kind() == reflect.Interface {
		if a.IsNil() || b.IsNil() {
			switch {
			case a.IsNil() && b.IsNil():
				return 0
			case a.IsNil():
				return -1
			}
			return 1
		}
		if a.Elem().Type() != b.Elem().Type() {
			return strings3(a.Elem().Type().String(), b.Elem().Type().String())
		}
		return compareKeys(a.Elem(), b.Elem())
	}
	switch a.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cmp3(a.Int() < b.Int(), a.Int() > b.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return cmp3(a.Uint() < b.Uint(), a.Uint() > b.Uint())
	case reflect.String:
		return strings3(a.String(), b.String())
	case reflect.Float32, reflect.Float64:
		return cmp3(a.Float() < b.Float(), a.Float() > b.Float())
	case reflect.Bool:
		return cmp3(!a.Bool() && b.Bool(), a.Bool() && !b.Bool())
	}
	return strings3(fmt.Sprint(a), fmt.Sprint(b))
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

func strings3(a, b string) int { return cmp3(a < b, a > b) }
