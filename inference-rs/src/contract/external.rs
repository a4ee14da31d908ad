//! Tensors whose data lives outside the model file (ONNX "external data"), found by reading the
//! protobuf wire format directly: ONNX Runtime would silently load them from the model's folder.
//! The walk mirrors `src/ash/export/external.py`: initializers, sparse initializers and tensor
//! attributes of every node, including subgraphs, with an explicit stack (no recursion).

/// Field numbers of onnx.proto3 that lead to tensors.
mod field {
    pub const MODEL_GRAPH: u64 = 7;
    pub const GRAPH_NODE: u64 = 1;
    pub const GRAPH_INITIALIZER: u64 = 5;
    pub const GRAPH_SPARSE_INITIALIZER: u64 = 15;
    pub const NODE_ATTRIBUTE: u64 = 5;
    pub const ATTR_T: u64 = 5;
    pub const ATTR_G: u64 = 6;
    pub const ATTR_TENSORS: u64 = 10;
    pub const ATTR_GRAPHS: u64 = 11;
    pub const ATTR_SPARSE_TENSOR: u64 = 22;
    pub const ATTR_SPARSE_TENSORS: u64 = 23;
    pub const SPARSE_VALUES: u64 = 1;
    pub const SPARSE_INDICES: u64 = 2;
    pub const TENSOR_NAME: u64 = 8;
    pub const TENSOR_DATA_LOCATION: u64 = 14;
}
const EXTERNAL: u64 = 1;

#[derive(Clone, Copy)]
enum Kind {
    Model,
    Graph,
    Node,
    Attribute,
    Sparse,
    Tensor,
}

/// One field of a message: its number, and its bytes if length-delimited (else its varint).
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of one message; `None` if the bytes are not valid wire format.
fn fields(buf: &[u8]) -> Option<Vec<(u64, Value<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let value = match key & 7 {
            0 => Value::Varint(varint(buf, &mut pos)?),
            1 => {
                pos = pos.checked_add(8).filter(|p| *p <= buf.len())?;
                Value::Other
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len).filter(|e| *e <= buf.len())?;
                let bytes = &buf[pos..end];
                pos = end;
                Value::Bytes(bytes)
            }
            5 => {
                pos = pos.checked_add(4).filter(|p| *p <= buf.len())?;
                Value::Other
            }
            _ => return None, // groups (deprecated) or garbage
        };
        out.push((key >> 3, value));
    }
    Some(out)
}

/// Names of the tensors stored as external data; `None` when the file is not an ONNX protobuf
/// (ONNX Runtime then says why it cannot load it).
pub fn external_tensors(model: &[u8]) -> Option<Vec<String>> {
    use field::*;
    let mut found = Vec::new();
    let mut stack = vec![(Kind::Model, model)];
    while let Some((kind, buf)) = stack.pop() {
        let parsed = fields(buf)?;
        if let Kind::Tensor = kind {
            let external =
                parsed.iter().any(|(n, v)| *n == TENSOR_DATA_LOCATION && matches!(v, Value::Varint(EXTERNAL)));
            if external {
                let name = parsed.iter().find_map(|(n, v)| match v {
                    Value::Bytes(b) if *n == TENSOR_NAME => Some(String::from_utf8_lossy(b).into_owned()),
                    _ => None,
                });
                found.push(name.filter(|n| !n.is_empty()).unwrap_or_else(|| "<unnamed>".into()));
            }
            continue;
        }
        for (number, value) in parsed {
            let Value::Bytes(bytes) = value else { continue };
            let child = match (kind, number) {
                (Kind::Model, MODEL_GRAPH) => Kind::Graph,
                (Kind::Graph, GRAPH_NODE) => Kind::Node,
                (Kind::Graph, GRAPH_INITIALIZER) => Kind::Tensor,
                (Kind::Graph, GRAPH_SPARSE_INITIALIZER) => Kind::Sparse,
                (Kind::Node, NODE_ATTRIBUTE) => Kind::Attribute,
                (Kind::Attribute, ATTR_T | ATTR_TENSORS) => Kind::Tensor,
                (Kind::Attribute, ATTR_G | ATTR_GRAPHS) => Kind::Graph,
                (Kind::Attribute, ATTR_SPARSE_TENSOR | ATTR_SPARSE_TENSORS) => Kind::Sparse,
                (Kind::Sparse, SPARSE_VALUES | SPARSE_INDICES) => Kind::Tensor,
                _ => continue,
            };
            stack.push((child, bytes));
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len_field(number: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3 | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn finds_an_external_initializer_and_ignores_inline_ones() {
        let external_tensor = [len_field(8, b"w"), vec![14 << 3, 1]].concat();
        let inline_tensor = len_field(8, b"b");
        let graph = [len_field(5, &external_tensor), len_field(5, &inline_tensor)].concat();
        let model = [vec![1 << 3, 8], len_field(7, &graph)].concat();
        assert_eq!(external_tensors(&model), Some(vec!["w".to_string()]));
        let clean = [vec![1 << 3, 8], len_field(7, &len_field(5, &inline_tensor))].concat();
        assert_eq!(external_tensors(&clean), Some(vec![]));
        assert_eq!(external_tensors(b"this is not an ONNX model\n"), None);
    }
}
