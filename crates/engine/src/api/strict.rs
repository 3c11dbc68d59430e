//! Request structures that refuse a JSON list.
//!
//! serde's derived `Deserialize` for a struct calls `deserialize_struct`, which serde_json
//! answers for a JSON array as well as for an object: `[1, 2]` would be read positionally as
//! `{"ReadCapacityUnits": 1, "WriteCapacityUnits": 2}`. DynamoDB refuses a list where a
//! structure belongs ("Start of list found where not expected", a SerializationException).
//!
//! Each request structure therefore derives with `#[serde(remote = "Self")]`, which turns the
//! derived impl into an inherent `Type::deserialize` function, and [`structures!`] implements
//! the `Deserialize` trait by asking for a *map* (`deserialize_map`, which serde_json refuses
//! for an array with the same "invalid type: sequence, expected struct Type" error as any other
//! wrong type) and handing the map to the derived function through a
//! [`MapAccessDeserializer`]. A valid request takes the same path as before: one more inlined
//! visitor call, no allocation. Everything else (unknown members, wrong member types, `null`)
//! behaves as the derived impl does, with the derived impl's "struct Type" expectation.
//!
//! A structure that also derives `Serialize` (shapes shared with descriptions) gets its
//! `Serialize` impl back from the remote derive the same way, by naming it after `serialize:`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};

/// A structure whose derived impl is an inherent function (`#[serde(remote = "Self")]`).
pub(crate) trait Derived<'de>: Sized {
    /// The Rust name, for serde's "expected struct Name" text.
    const NAME: &'static str;

    /// The derived impl.
    fn derived<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

/// Accepts only a map and lets the derived impl read it.
struct MapOnly<T>(PhantomData<T>);

impl<'de, T: Derived<'de>> Visitor<'de> for MapOnly<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The derived impl's own wording, which the server maps to DynamoDB's texts.
        write!(f, "struct {}", T::NAME)
    }

    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::derived(MapAccessDeserializer::new(map))
    }
}

/// `T`'s derived impl, refusing anything but a map (a JSON object).
///
/// # Errors
/// The deserializer's "invalid type" error for a non-map, or the derived impl's errors.
#[inline]
pub(crate) fn deserialize<'de, T: Derived<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(MapOnly(PhantomData))
}

/// Implements `Deserialize` (map only) for each listed `#[serde(remote = "Self")]` structure,
/// and `Serialize` for those listed after `serialize:`.
macro_rules! structures {
    ($($ty:ident),+ $(,)? ; serialize: $($ser:ident),* $(,)?) => {
        $(
            impl<'de> $crate::api::strict::Derived<'de> for $ty {
                const NAME: &'static str = stringify!($ty);

                #[inline]
                fn derived<D: serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> std::result::Result<Self, D::Error> {
                    // The inherent function of the remote derive, not this trait's.
                    $ty::deserialize(deserializer)
                }
            }

            impl<'de> serde::Deserialize<'de> for $ty {
                #[inline]
                fn deserialize<D: serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> std::result::Result<Self, D::Error> {
                    $crate::api::strict::deserialize(deserializer)
                }
            }
        )+
        $(
            impl serde::Serialize for $ser {
                #[inline]
                fn serialize<S: serde::Serializer>(
                    &self,
                    serializer: S,
                ) -> std::result::Result<S::Ok, S::Error> {
                    $ser::serialize(self, serializer)
                }
            }
        )*
    };
}

pub(crate) use structures;

#[cfg(test)]
mod tests {
    use crate::api::{KeySchemaElement, Projection, ProvisionedThroughput, TableNameInput};

    #[test]
    fn a_list_is_refused_as_any_wrong_type_is() {
        let e = serde_json::from_str::<ProvisionedThroughput>("[1, 2]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid type: sequence, expected struct ProvisionedThroughput at line 1 column 0"
        );
        let e = serde_json::from_str::<ProvisionedThroughput>("5").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid type: integer `5`, expected struct ProvisionedThroughput at line 1 column 1"
        );
        let e = serde_json::from_value::<TableNameInput>(serde_json::json!(["t"])).unwrap_err();
        assert!(e.to_string().starts_with("invalid type: sequence"), "{e}");
    }

    #[test]
    fn objects_read_and_write_as_derived() {
        let pt: ProvisionedThroughput =
            serde_json::from_str(r#"{"ReadCapacityUnits": 1, "WriteCapacityUnits": 2.7, "X": 0}"#)
                .unwrap();
        assert_eq!(
            (pt.read_capacity_units, pt.write_capacity_units),
            (Some(1), Some(2))
        );
        let key: KeySchemaElement =
            serde_json::from_str(r#"{"AttributeName": "pk", "KeyType": "HASH"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&key).unwrap(),
            r#"{"AttributeName":"pk","KeyType":"HASH"}"#
        );
        let projection = Projection {
            projection_type: Some("ALL".to_owned()),
            non_key_attributes: None,
        };
        assert_eq!(
            serde_json::to_string(&projection).unwrap(),
            r#"{"ProjectionType":"ALL"}"#
        );
    }
}
