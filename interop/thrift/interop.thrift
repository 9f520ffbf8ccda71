// Thrift structs for codec interop tests (rpcx SerializeType 4 = TBinaryProtocol struct encoding,
// no message envelope). Go code: interop/go/internal/thriftgen (see interop/go/internal/GENERATE.md).
// The TypeScript descriptors in test/codec/thrift.test.ts mirror these definitions.
namespace go thriftgen

struct ArithArgs {
  1: i64 A
  2: i64 B
}

struct ArithReply {
  1: i64 C
}

struct Inner {
  1: i32 id
  2: string name
}

struct AllTypes {
  1: bool f_bool
  2: i8 f_byte
  3: i16 f_i16
  4: i32 f_i32
  5: i64 f_i64
  6: double f_double
  7: string f_string
  8: binary f_binary
  9: list<i32> l_i32
  10: list<string> l_string
  11: set<i64> s_i64
  12: map<string, i32> m_string_i32
  13: Inner f_inner
  14: list<Inner> l_inner
  15: map<i32, list<string>> m_i32_list
  16: optional string o_string
  17: optional i32 o_i32
  18: list<list<i16>> l_l_i16
  19: set<string> s_string
  20: map<i64, Inner> m_i64_inner
  32767: i32 f_high_id
}

struct Empty {
}
