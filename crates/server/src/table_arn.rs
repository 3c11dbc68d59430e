//! A table's ARN in place of its name. DynamoDB accepts `arn:aws:dynamodb:<region>:<account>:
//! table/<name>` wherever a request's `TableName` names an existing table (DescribeTable,
//! UpdateTable, DeleteTable, the item operations, the TTL, backup and Contributor Insights
//! ones) and answers as if the name had been given: responses name the table by its name, a
//! missing table is "not found" under its name (the ack-api-quirks lab's DDB-TABLE-011, 072).
//! So do a batch's `RequestItems` keys and a transaction's items; a batch's answer is keyed by
//! what the request gave ("a map of table name or table ARN", the API reference), while
//! `ConsumedCapacity` names the table.
//! Another region's ARN is a ValidationException, another account's an AccessDeniedException
//! "Access is denied" (binderdb keeps accounts apart: another account's tables are not
//! reachable). CreateTable takes names only.
//!
//! The ARN is replaced by the name right after the request is decoded, so validation, access
//! control and the engine see the name. Texts: DynamoDB's "1 validation error detected: Invalid
//! AWS region in '<arn>'" and its siblings for the partition and the resource type (recorded
//! with the lab's error catalogue); an ARN that is not a DynamoDB ARN at all is left as it is,
//! and fails the name's pattern as before.

use crate::error::ApiError;

/// Replaces `name`, when it is a DynamoDB table ARN, by the table's name, for a caller in
/// `region` and `account`; returns the ARN it replaced.
///
/// # Errors
/// ValidationException for another region or partition or a resource that is not a table,
/// AccessDeniedException for another account.
pub(crate) fn resolve(
    name: &mut String,
    region: &str,
    account: &str,
) -> Result<Option<String>, ApiError> {
    if !name.starts_with("arn:") {
        return Ok(None);
    }
    let parts: Vec<&str> = name.splitn(6, ':').collect();
    let [_, partition, service, arn_region, arn_account, resource] = parts.as_slice() else {
        return Ok(None);
    };
    if *service != "dynamodb" {
        return Ok(None);
    }
    let invalid = |what: &str| {
        ApiError::validation(format!(
            "1 validation error detected: Invalid {what} in '{name}'"
        ))
    };
    if *partition != "aws" {
        return Err(invalid("AWS partition"));
    }
    if arn_region != &region {
        return Err(invalid("AWS region"));
    }
    let Some(table) = resource
        .strip_prefix("table/")
        .filter(|t| !t.is_empty() && !t.contains('/'))
    else {
        return Err(invalid("resource type"));
    };
    if arn_account != &account {
        return Err(ApiError::access_denied("Access is denied"));
    }
    let table = (*table).to_owned();
    Ok(Some(std::mem::replace(name, table)))
}

/// Renames, in a batch's answer, the members keyed by table (`Responses`, `UnprocessedKeys`,
/// `UnprocessedItems`, `ItemCollectionMetrics`) from each table's name back to the ARN the
/// request gave for it (`arns`: (name, ARN) pairs), as DynamoDB answers "a map of table name or
/// table ARN".
pub(crate) fn rekey(answer: &mut serde_json::Value, arns: &[(String, String)]) {
    for member in [
        "Responses",
        "UnprocessedKeys",
        "UnprocessedItems",
        "ItemCollectionMetrics",
    ] {
        let Some(map) = answer.get_mut(member).and_then(|m| m.as_object_mut()) else {
            continue;
        };
        for (name, arn) in arns {
            if let Some(v) = map.remove(name) {
                map.insert(arn.clone(), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(arn: &str) -> Result<String, ApiError> {
        let mut name = arn.to_owned();
        resolve(&mut name, "us-east-1", "000000000000").map(|_| name)
    }

    #[test]
    fn a_table_arn_becomes_its_name() {
        assert_eq!(
            resolved("arn:aws:dynamodb:us-east-1:000000000000:table/Music").unwrap(),
            "Music"
        );
        // Names and other strings pass unchanged.
        assert_eq!(resolved("Music").unwrap(), "Music");
        assert_eq!(resolved("arn:nothing").unwrap(), "arn:nothing");
        assert_eq!(
            resolved("arn:aws:s3:::bucket/key:x").unwrap(),
            "arn:aws:s3:::bucket/key:x"
        );
    }

    #[test]
    fn other_regions_accounts_and_resources_are_refused() {
        let region = resolved("arn:aws:dynamodb:eu-west-1:000000000000:table/Music").unwrap_err();
        assert_eq!(
            region.message.as_deref(),
            Some(
                "1 validation error detected: Invalid AWS region in \
                 'arn:aws:dynamodb:eu-west-1:000000000000:table/Music'"
            )
        );
        let index = resolved("arn:aws:dynamodb:us-east-1:000000000000:table/Music/index/byArtist")
            .unwrap_err();
        assert!(index.message.unwrap().contains("Invalid resource type in"));
        let account = resolved("arn:aws:dynamodb:us-east-1:111122223333:table/Music").unwrap_err();
        assert_eq!(
            account.error_type,
            "com.amazon.coral.service#AccessDeniedException"
        );
        assert_eq!(account.message.as_deref(), Some("Access is denied"));
    }
}
