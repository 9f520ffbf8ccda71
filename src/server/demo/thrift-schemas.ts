// Thrift struct descriptors mirroring interop/thrift/interop.thrift (the structs the Go interop
// server uses), shared by the demo services and the thrift codec tests.
import type { ThriftStruct, ThriftTypeSpec } from '../../codec/thrift.js';

export const ThriftArithArgs: ThriftStruct = {
  name: 'ArithArgs',
  fields: [
    { id: 1, name: 'A', type: 'i64' },
    { id: 2, name: 'B', type: 'i64' },
  ],
};
export const ThriftArithReply: ThriftStruct = { name: 'ArithReply', fields: [{ id: 1, name: 'C', type: 'i64' }] };
export const ThriftInner: ThriftStruct = {
  name: 'Inner',
  fields: [
    { id: 1, name: 'id', type: 'i32' },
    { id: 2, name: 'name', type: 'string' },
  ],
};
const innerType: ThriftTypeSpec = { type: 'struct', struct: ThriftInner };
export const ThriftAllTypes: ThriftStruct = {
  name: 'AllTypes',
  fields: [
    { id: 1, name: 'f_bool', type: 'bool' },
    { id: 2, name: 'f_byte', type: 'i8' },
    { id: 3, name: 'f_i16', type: 'i16' },
    { id: 4, name: 'f_i32', type: 'i32' },
    { id: 5, name: 'f_i64', type: 'i64' },
    { id: 6, name: 'f_double', type: 'double' },
    { id: 7, name: 'f_string', type: 'string' },
    { id: 8, name: 'f_binary', type: 'binary' },
    { id: 9, name: 'l_i32', type: 'list', elem: 'i32' },
    { id: 10, name: 'l_string', type: 'list', elem: 'string' },
    { id: 11, name: 's_i64', type: 'set', elem: 'i64' },
    { id: 12, name: 'm_string_i32', type: 'map', key: 'string', value: 'i32' },
    { id: 13, name: 'f_inner', type: 'struct', struct: ThriftInner },
    { id: 14, name: 'l_inner', type: 'list', elem: innerType },
    { id: 15, name: 'm_i32_list', type: 'map', key: 'i32', value: { type: 'list', elem: 'string' } },
    { id: 16, name: 'o_string', type: 'string', optional: true },
    { id: 17, name: 'o_i32', type: 'i32', optional: true },
    { id: 18, name: 'l_l_i16', type: 'list', elem: { type: 'list', elem: 'i16' } },
    { id: 19, name: 's_string', type: 'set', elem: 'string' },
    { id: 20, name: 'm_i64_inner', type: 'map', key: 'i64', value: innerType },
    { id: 32767, name: 'f_high_id', type: 'i32' },
  ],
};
export const ThriftEmpty: ThriftStruct = { name: 'Empty', fields: [] };
