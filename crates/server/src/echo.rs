//! How DynamoDB quotes a request value inside a validation message.
//!
//! DynamoDB's validator renders the offending member with Java's `toString`: lists as
//! `[a, b]`, maps as `{k=v}`, request structures as `Name(field=value, ...)` and attribute values
//! by identity, `com.amazonaws.dynamodb.v20120810.AttributeValue@483470e1` (the rendering
//! recorded from DynamoDB for BatchWriteItem's 25-request limit). DynamoDB's identity hashes
//! change with every call; binderdb derives them from the value (CRC32), so the same request
//! gets the same message. No client can depend on the hash either way.

use std::collections::HashMap;

use binderdb_engine::api::{KeysAndAttributes, RequestMap, WireItem, WriteRequest};
use binderdb_model::WireValue;

/// `[a, b]`.
fn list<T>(items: &[T], render: impl Fn(&T) -> String) -> String {
    let parts: Vec<String> = items.iter().map(render).collect();
    format!("[{}]", parts.join(", "))
}

/// `{k=v, ...}`, keys in byte order.
fn map<'a, V: 'a>(
    entries: impl Iterator<Item = (&'a String, V)>,
    render: impl Fn(V) -> String,
) -> String {
    let mut parts: Vec<(&String, String)> = entries.map(|(k, v)| (k, render(v))).collect();
    parts.sort_by(|a, b| a.0.cmp(b.0));
    let parts: Vec<String> = parts.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// `null`, or the rendered value.
fn nullable<T>(v: Option<&T>, render: impl Fn(&T) -> String) -> String {
    v.map_or_else(|| "null".to_owned(), render)
}

fn hash_value(v: &WireValue, h: &mut crc32fast::Hasher) {
    let strings = |h: &mut crc32fast::Hasher, tag: &[u8], items: &[String]| {
        h.update(tag);
        for s in items {
            h.update(s.as_bytes());
            h.update(&[0]);
        }
    };
    if let Some(s) = &v.s {
        strings(h, b"S", std::slice::from_ref(s));
    }
    if let Some(n) = &v.n {
        strings(h, b"N", std::slice::from_ref(n));
    }
    if let Some(b) = &v.b {
        h.update(b"B");
        h.update(&b.0);
    }
    if let Some(ss) = &v.ss {
        strings(h, b"SS", ss);
    }
    if let Some(ns) = &v.ns {
        strings(h, b"NS", ns);
    }
    for b in v.bs.iter().flatten() {
        h.update(b"BS");
        h.update(&b.0);
    }
    if let Some(m) = &v.m {
        h.update(b"M");
        let mut entries: Vec<_> = m.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (k, inner) in entries {
            h.update(k.as_bytes());
            hash_value(inner, h);
        }
    }
    for inner in v.l.iter().flatten() {
        h.update(b"L");
        hash_value(inner, h);
    }
    if let Some(null) = v.null {
        h.update(&[b'0', u8::from(null)]);
    }
    if let Some(b) = v.bool {
        h.update(&[b'1', u8::from(b)]);
    }
}

/// `com.amazonaws.dynamodb.v20120810.AttributeValue@<hash>` (Java prints the hash in lowercase
/// hex without leading zeros).
fn attribute_value(v: &WireValue) -> String {
    let mut h = crc32fast::Hasher::new();
    hash_value(v, &mut h);
    format!(
        "com.amazonaws.dynamodb.v20120810.AttributeValue@{:x}",
        h.finalize()
    )
}

/// An attribute map (`Key`, `Item`).
pub fn attribute_map(m: &WireItem) -> String {
    map(m.iter(), attribute_value)
}

/// A list of keys (BatchGetItem's `Keys`).
pub fn keys(keys: &[WireItem]) -> String {
    list(keys, attribute_map)
}

fn strings(v: &[String]) -> String {
    list(v, String::clone)
}

fn names(m: &HashMap<String, String>) -> String {
    map(m.iter(), String::clone)
}

/// A `KeysAndAttributes` structure.
pub fn keys_and_attributes(k: &KeysAndAttributes) -> String {
    format!(
        "KeysAndAttributes(keys={}, attributesToGet={}, consistentRead={}, \
         projectionExpression={}, expressionAttributeNames={})",
        nullable(k.keys.as_ref(), |v| keys(v)),
        nullable(k.attributes_to_get.as_ref(), |v| strings(v)),
        nullable(k.consistent_read.as_ref(), bool::to_string),
        nullable(k.projection_expression.as_ref(), String::clone),
        nullable(k.expression_attribute_names.as_ref(), names),
    )
}

/// A `WriteRequest` structure. The PutRequest shape is DynamoDB's recorded one; DeleteRequest's
/// is assumed to follow it.
pub fn write_request(w: &WriteRequest) -> String {
    format!(
        "WriteRequest(putRequest={}, deleteRequest={})",
        nullable(w.put_request.as_ref(), |p| format!(
            "PutRequest(item={}, workloadProfileName=null)",
            nullable(p.item.as_ref(), attribute_map)
        )),
        nullable(w.delete_request.as_ref(), |d| format!(
            "DeleteRequest(key={}, workloadProfileName=null)",
            nullable(d.key.as_ref(), attribute_map)
        )),
    )
}

/// One table's requests in BatchWriteItem.
pub fn write_requests(requests: &[WriteRequest]) -> String {
    list(requests, write_request)
}

/// A `RequestItems` map: table name to the rendered value.
pub fn request_items<V>(items: &RequestMap<V>, render: impl Fn(&V) -> String) -> String {
    map(items.iter(), render)
}

#[cfg(test)]
mod tests {
    use super::*;
    use binderdb_engine::api::PutRequest;

    #[test]
    fn renders_like_java() {
        let item: WireItem = [(
            "pk".to_owned(),
            WireValue {
                s: Some("a".into()),
                ..Default::default()
            },
        )]
        .into();
        let w = WriteRequest {
            put_request: Some(PutRequest { item: Some(item) }),
            delete_request: None,
        };
        let text = request_items(&RequestMap(vec![("t".to_owned(), vec![w])]), |v| {
            list(v, write_request)
        });
        assert!(text.starts_with(
            "{t=[WriteRequest(putRequest=PutRequest(item={pk=com.amazonaws.dynamodb.v20120810.AttributeValue@"
        ));
        assert!(text.ends_with("}, workloadProfileName=null), deleteRequest=null)]}"));
        assert_eq!(
            request_items(
                &RequestMap(vec![("t".to_owned(), Vec::<WriteRequest>::new())]),
                |v| list(v, write_request)
            ),
            "{t=[]}"
        );
    }
}
