//! Unit tests for `value`: every `ValueError` text, check order, nesting and JSON form.

use super::*;

fn check(json: &str) -> Result<AttributeValue, String> {
    let w: WireValue = serde_json::from_str(json).map_err(|e| e.to_string())?;
    AttributeValue::from_wire(w).map_err(|e| e.to_string())
}

fn err(json: &str) -> String {
    check(json).unwrap_err()
}

const INVALID: &str = "One or more parameter values were invalid: ";

#[test]
fn type_count_errors() {
    let empty =
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes";
    assert_eq!(err("{}"), empty);
    assert_eq!(err(r#"{"a":""}"#), empty);
    assert_eq!(err(r#"{"S":null}"#), empty);
    assert_eq!(err(r#"{"M":{"a":{}}}"#), empty);
    assert_eq!(err(r#"{"L":[{}]}"#), empty);
    assert_eq!(err(r#"{"L":[null]}"#), empty);
    assert_eq!(
        err(r#"{"S":"a","N":"1"}"#),
        "Supplied AttributeValue has more than one datatypes set, \
         must contain exactly one of the supported datatypes"
    );
}

#[test]
fn value_errors_have_dynamodb_texts() {
    assert_eq!(
        err(r#"{"NULL":false}"#),
        format!("{INVALID}Null attribute value types must have the value of true")
    );
    assert_eq!(
        err(r#"{"SS":[]}"#),
        format!("{INVALID}An string set  may not be empty")
    );
    assert_eq!(
        err(r#"{"NS":[]}"#),
        format!("{INVALID}An number set  may not be empty")
    );
    assert_eq!(
        err(r#"{"BS":[]}"#),
        format!("{INVALID}Binary sets should not be empty")
    );
    assert_eq!(
        err(r#"{"SS":["a","a"]}"#),
        format!("{INVALID}Input collection [a, a] contains duplicates.")
    );
    assert_eq!(
        err(r#"{"BS":["Yg==","Yg=="]}"#),
        format!("{INVALID}Input collection [Yg==, Yg==]of type BS contains duplicates.")
    );
    assert_eq!(
        err(r#"{"NS":["1","1"]}"#),
        "Input collection contains duplicates"
    );
    assert_eq!(
        err(r#"{"NS":["1","1.0"]}"#),
        "Input collection contains duplicates"
    );
    let nan = "The parameter cannot be converted to a numeric value";
    assert_eq!(err(r#"{"N":""}"#), nan);
    assert_eq!(err(r#"{"N":"b"}"#), format!("{nan}: b"));
    assert_eq!(err(r#"{"NS":["1","b"]}"#), format!("{nan}: b"));
    assert_eq!(err(r#"{"M":{"x":{"L":[{"N":"x"}]}}}"#), format!("{nan}: x"));
    assert_eq!(
        err(r#"{"N":"123456789012345678901234567890123456789"}"#),
        "Attempting to store more than 38 significant digits in a Number"
    );
    assert_eq!(
        err(r#"{"N":"-1e126"}"#),
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    );
    assert_eq!(
        err(r#"{"N":"1e-131"}"#),
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    );
}

#[test]
fn value_errors_come_before_the_type_count() {
    // As in DynamoDB: {S, N} with a bad N reports the number, not "more than one".
    assert_eq!(
        err(r#"{"S":"a","N":"b"}"#),
        "The parameter cannot be converted to a numeric value: b"
    );
    assert_eq!(
        err(r#"{"S":"a","SS":[]}"#),
        format!("{INVALID}An string set  may not be empty")
    );
}

fn nested(levels: usize) -> String {
    let mut json = r#"{"S":"leaf"}"#.to_owned();
    for i in 0..levels {
        json = if i % 2 == 0 {
            format!(r#"{{"M":{{"n":{json}}}}}"#)
        } else {
            format!(r#"{{"L":[{json}]}}"#)
        };
    }
    json
}

#[test]
fn nesting_limit() {
    // 31 wraps put the leaf at level 32: accepted. 32 wraps: rejected.
    let ok = check(&nested(31)).unwrap();
    assert_eq!(ok.nesting_depth(), 32);
    assert_eq!(
        err(&nested(32)),
        "Nesting Levels have exceeded supported limits: \
         Attributes in the item have nested levels beyond supported limit"
    );
}

#[test]
fn accepts_and_serialises() {
    let v = check(
        r#"{"M":{"s":{"S":""},"n":{"N":"10E-1"},"b":{"B":"AP8="},"ss":{"SS":["b","a",""]},
            "ns":{"NS":["2","1.50"]},"bs":{"BS":["AA==","AQ=="]},"l":{"L":[{"NULL":true},
            {"BOOL":false}]}}}"#,
    )
    .unwrap();
    assert_eq!(v.type_code(), "M");
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"M":{"b":{"B":"AP8="},"bs":{"BS":["AA==","AQ=="]},"l":{"L":[{"NULL":true},{"BOOL":false}]},"n":{"N":"1"},"ns":{"NS":["2","1.5"]},"s":{"S":""},"ss":{"SS":["b","a",""]}}}"#
    );
    let back: AttributeValue = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(back, v);
}

#[test]
fn type_codes_and_semantic_eq() {
    let codes: Vec<_> = [
        AttributeValue::S(String::new()),
        AttributeValue::N(Number::zero()),
        AttributeValue::B(vec![]),
        AttributeValue::SS(vec![]),
        AttributeValue::NS(vec![]),
        AttributeValue::BS(vec![]),
        AttributeValue::M(BTreeMap::new()),
        AttributeValue::L(vec![]),
        AttributeValue::Null,
        AttributeValue::Bool(true),
    ]
    .iter()
    .map(AttributeValue::type_code)
    .collect();
    assert_eq!(
        codes,
        ["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"]
    );
    let a = AttributeValue::SS(vec!["a".into(), "b".into()]);
    let b = AttributeValue::SS(vec!["b".into(), "a".into()]);
    assert_ne!(a, b);
    assert!(a.semantic_eq(&b));
    assert!(!a.semantic_eq(&AttributeValue::SS(vec!["a".into()])));
}

#[test]
fn item_from_wire_validates_each_attribute() {
    let m: std::collections::HashMap<String, WireValue> =
        serde_json::from_str(r#"{"a":{"S":"x"},"b":{"N":"1.0"}}"#).unwrap();
    let item = item_from_wire(m).unwrap();
    assert_eq!(item["b"], AttributeValue::N(Number::parse("1").unwrap()));
    let bad: std::collections::HashMap<String, WireValue> =
        serde_json::from_str(r#"{"a":{"NULL":false}}"#).unwrap();
    assert_eq!(item_from_wire(bad), Err(ValueError::NullNotTrue));
}
