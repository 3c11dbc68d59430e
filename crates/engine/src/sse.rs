//! Server-side encryption settings (`SSESpecification`, `SSEDescription`).
//!
//! binderdb stores no data encrypted with a KMS key (there is no KMS here), but it keeps and
//! reports a table's encryption settings as DynamoDB does, so that infrastructure tools which
//! read `SSEDescription` back (Terraform, CloudFormation-like deployers, Kubernetes
//! controllers) and applications that check it see what they asked for. Observed behaviour it
//! follows (the ack-api-quirks lab's findings cited by number):
//! - A table is encrypted with an AWS owned key unless asked otherwise: no `SSEDescription`.
//!   `SSESpecification` `{}` or `{Enabled: false}` keeps that. `Enabled: true`, or an
//!   `SSEType: KMS` without `Enabled` (DDB-TABLE-044), encrypts with a KMS key: the account's
//!   AWS managed key `alias/aws/dynamodb` unless `KMSMasterKeyId` names another.
//!   `SSEDescription` is then `{Status: ENABLED, SSEType: KMS, KMSMasterKeyArn}`.
//! - `SSEType: AES256` is refused ("SSEType AES256 is not supported"); so are an `SSEType` or a
//!   `KMSMasterKeyId` with `Enabled: false`, and a `KMSMasterKeyId` with `Enabled: true` but no
//!   `SSEType` ("SSEType KMS is required if KMSMasterKeyId is specified", DDB-TABLE-442).
//! - An UpdateTable `SSESpecification` leaves the table ACTIVE; `SSEDescription.Status` is
//!   UPDATING until the change completes (about 22 s in DynamoDB; `--create-delay-ms` here, like
//!   every table change): from an AWS owned key the answer is `{Status: UPDATING}` alone, from a
//!   KMS key it still names the old key (DDB-TABLE-065, 140, 371).
//! - `Enabled: false` on a table with an AWS owned key: "Table is already encrypted by default"
//!   (DDB-TABLE-018). Naming the current key by its ARN: "Table is already encrypted with given
//!   KMSMasterKeyId. ..." (DDB-TABLE-082, 141). Any other re-send (by alias, key id, or
//!   `Enabled: true` alone) is a change that re-encrypts with the same key (DDB-TABLE-078, 141).
//! - While a change is in flight: the same request again is answered 200 and changes nothing, a
//!   different one is ResourceInUseException "Server-Side Encryption is still being updated",
//!   DeleteTable is refused as for an UPDATING table; other changes are admitted
//!   (DDB-TABLE-065, 120).
//! - `SSESpecification` with any other change: "Server-Side Encryption modification must be the
//!   only operation in the request" (DDB-TABLE-382, 433).
//!
//! **Key names.** Without KMS, binderdb cannot look an alias up, nor check that a key exists. A
//! key ARN is kept as given; a key id becomes the ARN of that key in the table's region and
//! account; an alias (`alias/name`, or an alias ARN) stands for a key whose id is derived from
//! the alias, its account and region, so one alias always names the same key, as an alias
//! resolved once at the change does in DynamoDB (DDB-TABLE-078). `alias/aws/dynamodb` is the
//! AWS managed key. Keys that DynamoDB would refuse after asking KMS (missing, disabled,
//! asymmetric: DDB-TABLE-037, 461) are accepted.
//!
//! **Not emulated:** the quota of four encryption changes a day per table, then one per 6 hours
//! (DDB-TABLE-081), whose message's full form was not recorded; a test suite changing one
//! table's encryption more often than that would fail against DynamoDB.

use serde::{Deserialize, Serialize};

use crate::api::SseSpecification;
use crate::error::{Error, Result};

/// The alias of the AWS managed key for DynamoDB.
const MANAGED_ALIAS: &str = "aws/dynamodb";

/// A table's encryption with a KMS key, or the change to or from one, as the catalog stores
/// it. A table that was never given a KMS key has none (an AWS owned key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SseState {
    /// The KMS key's ARN, once the last change completed (`None`: an AWS owned key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    /// The key before the last change (`None`: an AWS owned key), shown while it is in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_key_arn: Option<String>,
    /// When the last change completes, ms since the epoch (0: made at creation).
    #[serde(default)]
    pub until_ms: u64,
}

impl SseState {
    /// Whether a change is still in flight at `now_ms`.
    pub fn updating(&self, now_ms: u64) -> bool {
        now_ms < self.until_ms
    }
}

/// `SSEDescription`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SseDescription {
    pub status: String,
    #[serde(rename = "SSEType", skip_serializing_if = "Option::is_none")]
    pub sse_type: Option<String>,
    #[serde(rename = "KMSMasterKeyArn", skip_serializing_if = "Option::is_none")]
    pub kms_master_key_arn: Option<String>,
}

/// What a table's `SSEDescription` says at `now_ms` (`None`: an AWS owned key, no change in
/// flight).
pub fn description(state: Option<&SseState>, now_ms: u64) -> Option<SseDescription> {
    let state = state?;
    if state.updating(now_ms) {
        let previous = state.previous_key_arn.clone();
        return Some(SseDescription {
            status: "UPDATING".to_owned(),
            sse_type: previous.as_ref().map(|_| "KMS".to_owned()),
            kms_master_key_arn: previous,
        });
    }
    state.key_arn.as_ref().map(|arn| SseDescription {
        status: "ENABLED".to_owned(),
        sse_type: Some("KMS".to_owned()),
        kms_master_key_arn: Some(arn.clone()),
    })
}

/// Whether an encryption change is in flight on a table whose state is `state`.
pub fn updating(state: Option<&SseState>, now_ms: u64) -> bool {
    state.is_some_and(|s| s.updating(now_ms))
}

/// What an `SSESpecification` asks for: `Some(arn)` a KMS key, `None` an AWS owned key.
///
/// # Errors
/// `ValidationException` for `SSEType: AES256`, an `SSEType` or `KMSMasterKeyId` with
/// `Enabled: false`, or a `KMSMasterKeyId` with `Enabled: true` but no `SSEType`.
pub fn requested(spec: &SseSpecification, region: &str, account: &str) -> Result<Option<String>> {
    if spec.sse_type.as_deref() == Some("AES256") {
        return Err(Error::invalid_parameter("SSEType AES256 is not supported"));
    }
    // A disabled specification names no key, and a key names its type (the ack-api-quirks
    // lab's DDB-TABLE-442, CreateTable and UpdateTable). `Enabled` absent is neither case.
    let refusal = match (spec.enabled, &spec.sse_type, &spec.kms_master_key_id) {
        (Some(false), Some(_), _) => Some("SSEType can not be specified if Enabled is false"),
        (Some(false), None, Some(_)) => {
            Some("KMSMasterKeyId can not be specified if Enabled is false")
        }
        (Some(true), None, Some(_)) => {
            Some("SSEType KMS is required if KMSMasterKeyId is specified")
        }
        _ => None,
    };
    if let Some(rule) = refusal {
        return Err(Error::invalid_parameter(rule));
    }
    let enabled = spec.enabled.unwrap_or(spec.sse_type.is_some());
    if !enabled {
        return Ok(None);
    }
    Ok(Some(key_arn(
        spec.kms_master_key_id.as_deref(),
        region,
        account,
    )))
}

/// The state of a new table created with `spec` (`None`: an AWS owned key).
///
/// # Errors
/// As [`requested`].
pub fn at_creation(
    spec: Option<&SseSpecification>,
    region: &str,
    account: &str,
) -> Result<Option<SseState>> {
    let Some(spec) = spec else { return Ok(None) };
    Ok(requested(spec, region, account)?.map(|arn| SseState {
        key_arn: Some(arn),
        previous_key_arn: None,
        until_ms: 0,
    }))
}

/// The table's state after an UpdateTable `SSESpecification` (`current`: its state now), or
/// `None` when the request changes nothing (the same request again while it is in flight).
///
/// # Errors
/// `ValidationException` for a change to what the table already has where DynamoDB refuses it
/// (see the module docs), `ResourceInUseException` for another change while one is in flight.
pub fn update(
    current: Option<&SseState>,
    spec: &SseSpecification,
    region: &str,
    account: &str,
    now_ms: u64,
    until_ms: u64,
) -> Result<Option<SseState>> {
    let target = requested(spec, region, account)?;
    if let Some(state) = current.filter(|s| s.updating(now_ms)) {
        if state.key_arn == target {
            return Ok(None);
        }
        return Err(Error::in_use(
            "Server-Side Encryption is still being updated",
        ));
    }
    let key_now = current.and_then(|s| s.key_arn.clone());
    match (&key_now, &target) {
        (None, None) => {
            return Err(Error::invalid_parameter(
                "Table is already encrypted by default",
            ))
        }
        (Some(now), Some(_)) if spec.kms_master_key_id.as_deref() == Some(now.as_str()) => {
            return Err(Error::invalid_parameter(
                "Table is already encrypted with given KMSMasterKeyId. Use KMSMasterKeyId \
                 parameter if you want to change Master Key",
            ))
        }
        _ => {}
    }
    Ok(Some(SseState {
        key_arn: target,
        previous_key_arn: key_now,
        until_ms,
    }))
}

/// The ARN of the key `key_id` names (see the module docs); the AWS managed key when absent.
pub fn key_arn(key_id: Option<&str>, region: &str, account: &str) -> String {
    let Some(key_id) = key_id else {
        return alias_key_arn(MANAGED_ALIAS, region, account);
    };
    if let Some(rest) = key_id.strip_prefix("arn:") {
        // arn:<partition>:kms:<region>:<account>:key/<id> or ...:alias/<name>
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if let [_, _, arn_region, arn_account, resource] = parts.as_slice() {
            if let Some(alias) = resource.strip_prefix("alias/") {
                return alias_key_arn(alias, arn_region, arn_account);
            }
        }
        return key_id.to_owned();
    }
    match key_id.strip_prefix("alias/") {
        Some(alias) => alias_key_arn(alias, region, account),
        None => format!("arn:aws:kms:{region}:{account}:key/{key_id}"),
    }
}

/// The ARN of the key an alias stands for: an id derived from the alias, account and region.
fn alias_key_arn(alias: &str, region: &str, account: &str) -> String {
    let hash = xxhash_rust::xxh3::xxh3_128(format!("{account}/{region}/{alias}").as_bytes());
    // A version 4 UUID's layout, so that it looks like every other KMS key id.
    let id = uuid::Builder::from_random_bytes(hash.to_be_bytes()).into_uuid();
    format!("arn:aws:kms:{region}:{account}:key/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(enabled: Option<bool>, sse_type: Option<&str>, key: Option<&str>) -> SseSpecification {
        SseSpecification {
            enabled,
            sse_type: sse_type.map(str::to_owned),
            kms_master_key_id: key.map(str::to_owned),
        }
    }

    #[test]
    fn key_names_resolve_to_stable_arns() {
        let managed = key_arn(None, "us-east-1", "123456789012");
        assert!(managed.starts_with("arn:aws:kms:us-east-1:123456789012:key/"));
        assert_eq!(
            key_arn(Some("alias/aws/dynamodb"), "us-east-1", "123456789012"),
            managed
        );
        assert_eq!(
            key_arn(
                Some("arn:aws:kms:us-east-1:123456789012:alias/aws/dynamodb"),
                "eu-west-1",
                "000000000000"
            ),
            managed
        );
        assert_ne!(key_arn(None, "eu-west-1", "123456789012"), managed);
        assert_ne!(
            key_arn(Some("alias/mine"), "us-east-1", "123456789012"),
            managed
        );
        assert_eq!(
            key_arn(
                Some("1234abcd-12ab-34cd-56ef-1234567890ab"),
                "us-east-1",
                "1"
            ),
            "arn:aws:kms:us-east-1:1:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        );
        let arn = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(key_arn(Some(arn), "us-east-1", "1"), arn);
    }

    #[test]
    fn enabled_follows_sse_type_when_absent() {
        assert_eq!(requested(&spec(None, None, None), "r", "a").unwrap(), None);
        assert!(requested(&spec(None, Some("KMS"), None), "r", "a")
            .unwrap()
            .is_some());
        assert_eq!(
            requested(&spec(Some(false), None, None), "r", "a").unwrap(),
            None
        );
        assert!(requested(&spec(Some(true), Some("AES256"), None), "r", "a").is_err());
    }

    #[test]
    fn a_disabled_specification_names_no_key_and_a_key_its_type() {
        let refused = |s: SseSpecification| match requested(&s, "r", "a") {
            Err(Error::Validation(text)) => text,
            other => panic!("{other:?}"),
        };
        let invalid = "One or more parameter values were invalid: ";
        assert_eq!(
            refused(spec(Some(false), Some("KMS"), Some("alias/k"))),
            format!("{invalid}SSEType can not be specified if Enabled is false")
        );
        assert_eq!(
            refused(spec(Some(false), None, Some("alias/k"))),
            format!("{invalid}KMSMasterKeyId can not be specified if Enabled is false")
        );
        assert_eq!(
            refused(spec(Some(true), None, Some("alias/k"))),
            format!("{invalid}SSEType KMS is required if KMSMasterKeyId is specified")
        );
        assert!(
            requested(&spec(Some(true), Some("KMS"), Some("alias/k")), "r", "a")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn an_update_names_the_old_key_while_in_flight() {
        let first = update(None, &spec(Some(true), None, None), "r", "a", 10, 20)
            .unwrap()
            .unwrap();
        assert_eq!(
            description(Some(&first), 10).unwrap(),
            SseDescription {
                status: "UPDATING".to_owned(),
                sse_type: None,
                kms_master_key_arn: None
            }
        );
        let done = description(Some(&first), 20).unwrap();
        assert_eq!(done.status, "ENABLED");
        assert_eq!(done.kms_master_key_arn, first.key_arn);
        let off = update(
            Some(&first),
            &spec(Some(false), None, None),
            "r",
            "a",
            30,
            40,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            description(Some(&off), 35).unwrap().kms_master_key_arn,
            first.key_arn
        );
        assert_eq!(description(Some(&off), 40), None);
    }
}
