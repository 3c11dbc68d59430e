//! The one wire error type.
//!
//! [`ApiError`] knows its DynamoDB `__type` (with the namespace real DynamoDB uses for it) and
//! its HTTP status; every failure, from the protocol layer or the engine, becomes one here in a
//! single mapping, [`From<binderdb_engine::Error>`].

use binderdb_engine::Error;
use hyper::StatusCode;

/// The namespaces DynamoDB puts in front of error codes. Protocol-level errors come from the
/// service framework ("coral"), validation from its validator, the rest from DynamoDB itself.
const CORAL_SERVICE: &str = "com.amazon.coral.service#";
const CORAL_VALIDATE: &str = "com.amazon.coral.validate#";
const DYNAMODB: &str = "com.amazonaws.dynamodb.v20120810#";
const CORAL_AVAILABILITY: &str = "com.amazon.coral.availability#";

/// The `ThrottlingReasons` member of a throttling exception.
fn throttling_reasons(
    reasons: &[binderdb_engine::api::ThrottlingReason],
) -> Option<Box<(&'static str, serde_json::Value)>> {
    (!reasons.is_empty())
        .then(|| serde_json::to_value(reasons).ok())
        .flatten()
        .map(|r| Box::new(("ThrottlingReasons", r)))
}

/// The wire form of an injected fault: the code's own namespace and status (500 for
/// InternalServerError and ServiceUnavailable, 400 otherwise).
fn injected(code: &str, message: String) -> ApiError {
    let (prefix, status) = match code {
        "InternalServerError" => (DYNAMODB, StatusCode::INTERNAL_SERVER_ERROR),
        "ServiceUnavailable" => (CORAL_SERVICE, StatusCode::SERVICE_UNAVAILABLE),
        "ThrottlingException" => (CORAL_AVAILABILITY, StatusCode::BAD_REQUEST),
        _ => (DYNAMODB, StatusCode::BAD_REQUEST),
    };
    ApiError::new(prefix, code, status, Some(message))
}

/// An error response: `{"__type": ..., "message": ...}` with an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (400 for client errors, 500 for server faults).
    pub status: StatusCode,
    /// The full `__type`, e.g. `com.amazon.coral.validate#ValidationException`.
    pub error_type: String,
    /// The message, when DynamoDB sends one.
    pub message: Option<String>,
    /// The member carrying the message: the service framework's own errors
    /// (SerializationException) spell it `Message`, DynamoDB's errors `message`.
    pub message_key: &'static str,
    /// An error's own extra member: the `Item` of a ConditionalCheckFailedException
    /// (ReturnValuesOnConditionCheckFailure), the `CancellationReasons` of a
    /// TransactionCanceledException. Boxed: errors travel in every `Result` of the server.
    pub detail: Option<Box<(&'static str, serde_json::Value)>>,
}

impl ApiError {
    fn new(prefix: &str, code: &str, status: StatusCode, message: Option<String>) -> Self {
        ApiError {
            status,
            error_type: format!("{prefix}{code}"),
            message,
            message_key: "message",
            detail: None,
        }
    }

    /// `UnknownOperationException` (no message, as DynamoDB sends it).
    pub fn unknown_operation() -> Self {
        Self::new(
            CORAL_SERVICE,
            "UnknownOperationException",
            StatusCode::BAD_REQUEST,
            None,
        )
    }

    /// `SerializationException`; malformed JSON carries no message in DynamoDB.
    pub fn serialization(message: Option<String>) -> Self {
        ApiError {
            message_key: "Message",
            ..Self::new(
                CORAL_SERVICE,
                "SerializationException",
                StatusCode::BAD_REQUEST,
                message,
            )
        }
    }

    /// `AccessDeniedException` (HTTP 400), from the service framework's namespace.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(
            CORAL_SERVICE,
            "AccessDeniedException",
            StatusCode::BAD_REQUEST,
            Some(message.into()),
        )
    }

    /// `ValidationException`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            CORAL_VALIDATE,
            "ValidationException",
            StatusCode::BAD_REQUEST,
            Some(message.into()),
        )
    }

    /// `InternalServerError` (HTTP 500): a real server fault, never a client mistake.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            DYNAMODB,
            "InternalServerError",
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(message.into()),
        )
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        let mut body = serde_json::Map::new();
        body.insert("__type".into(), self.error_type.clone().into());
        if let Some(m) = &self.message {
            body.insert(self.message_key.into(), m.clone().into());
        }
        if let Some(detail) = &self.detail {
            body.insert(detail.0.into(), detail.1.clone());
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let bad = StatusCode::BAD_REQUEST;
        match e {
            Error::Validation(m) => ApiError::validation(m),
            Error::ResourceNotFound(m) => {
                ApiError::new(DYNAMODB, "ResourceNotFoundException", bad, Some(m))
            }
            Error::ResourceInUse(m) => {
                ApiError::new(DYNAMODB, "ResourceInUseException", bad, Some(m))
            }
            Error::PolicyNotFound(m) => {
                ApiError::new(DYNAMODB, "PolicyNotFoundException", bad, Some(m))
            }
            Error::BackupNotFound(m) => {
                ApiError::new(DYNAMODB, "BackupNotFoundException", bad, Some(m))
            }
            Error::BackupInUse(m) => ApiError::new(DYNAMODB, "BackupInUseException", bad, Some(m)),
            Error::ExportNotFound(m) => {
                ApiError::new(DYNAMODB, "ExportNotFoundException", bad, Some(m))
            }
            Error::ImportNotFound(m) => {
                ApiError::new(DYNAMODB, "ImportNotFoundException", bad, Some(m))
            }
            Error::ExportConflict(m) => {
                ApiError::new(DYNAMODB, "ExportConflictException", bad, Some(m))
            }
            Error::ImportConflict(m) => {
                ApiError::new(DYNAMODB, "ImportConflictException", bad, Some(m))
            }
            Error::InvalidExportTime(m) => {
                ApiError::new(DYNAMODB, "InvalidExportTimeException", bad, Some(m))
            }
            Error::PointInTimeRecoveryUnavailable(m) => ApiError::new(
                DYNAMODB,
                "PointInTimeRecoveryUnavailableException",
                bad,
                Some(m),
            ),
            Error::TableNotFound(m) => {
                ApiError::new(DYNAMODB, "TableNotFoundException", bad, Some(m))
            }
            Error::TableAlreadyExists(m) => {
                ApiError::new(DYNAMODB, "TableAlreadyExistsException", bad, Some(m))
            }
            Error::TableInUse(m) => ApiError::new(DYNAMODB, "TableInUseException", bad, Some(m)),
            Error::InvalidRestoreTime(m) => {
                ApiError::new(DYNAMODB, "InvalidRestoreTimeException", bad, Some(m))
            }
            Error::LimitExceeded(m) => {
                ApiError::new(DYNAMODB, "LimitExceededException", bad, Some(m))
            }
            Error::ItemCollectionSizeLimitExceeded(m) => ApiError::new(
                DYNAMODB,
                "ItemCollectionSizeLimitExceededException",
                bad,
                Some(m),
            ),
            Error::ConditionalCheckFailed { item } => ApiError {
                detail: item
                    .and_then(|i| serde_json::to_value(i).ok())
                    .map(|i| Box::new(("Item", i))),
                ..ApiError::new(
                    DYNAMODB,
                    "ConditionalCheckFailedException",
                    bad,
                    Some("The conditional request failed".to_owned()),
                )
            },
            Error::TransactionCanceled { reasons } => ApiError {
                // DynamoDB spells this exception's message member `Message`.
                message_key: "Message",
                detail: serde_json::to_value(&reasons)
                    .ok()
                    .map(|r| Box::new(("CancellationReasons", r))),
                ..ApiError::new(
                    DYNAMODB,
                    "TransactionCanceledException",
                    bad,
                    Some(binderdb_engine::error::canceled_message(&reasons)),
                )
            },
            Error::TransactionConflict(m) => {
                ApiError::new(DYNAMODB, "TransactionConflictException", bad, Some(m))
            }
            Error::DuplicateItem(m) => {
                ApiError::new(DYNAMODB, "DuplicateItemException", bad, Some(m))
            }
            Error::IdempotentParameterMismatch(m) => ApiError::new(
                DYNAMODB,
                "IdempotentParameterMismatchException",
                bad,
                Some(m),
            ),
            Error::TransactionInProgress(m) => {
                ApiError::new(DYNAMODB, "TransactionInProgressException", bad, Some(m))
            }
            Error::ExpiredIterator(m) => {
                ApiError::new(DYNAMODB, "ExpiredIteratorException", bad, Some(m))
            }
            Error::TrimmedDataAccess(m) => {
                ApiError::new(DYNAMODB, "TrimmedDataAccessException", bad, Some(m))
            }
            Error::ProvisionedThroughputExceeded { message, reasons } => ApiError {
                detail: throttling_reasons(&reasons),
                ..ApiError::new(
                    DYNAMODB,
                    "ProvisionedThroughputExceededException",
                    bad,
                    Some(message),
                )
            },
            // DynamoDB's ThrottlingException comes from the service framework's availability
            // namespace; SDKs retry it as a throttle.
            Error::Throttling { message, reasons } => ApiError {
                detail: throttling_reasons(&reasons),
                ..ApiError::new(
                    CORAL_AVAILABILITY,
                    "ThrottlingException",
                    bad,
                    Some(message),
                )
            },
            Error::Injected { code, message } => injected(&code, message),
            e @ (Error::Storage(_) | Error::Internal(_)) => {
                tracing::error!(error = %e, "internal error");
                ApiError::internal(e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use binderdb_engine::api::CancellationReason;

    fn body(e: Error) -> serde_json::Value {
        serde_json::from_slice(&ApiError::from(e).body()).unwrap()
    }

    #[test]
    fn transaction_errors_carry_their_types_and_members() {
        let reasons = vec![
            CancellationReason {
                code: "None".to_owned(),
                ..CancellationReason::default()
            },
            CancellationReason {
                code: "TransactionConflict".to_owned(),
                message: Some("Transaction is ongoing for the item".to_owned()),
                item: None,
            },
        ];
        assert_eq!(
            body(Error::TransactionCanceled { reasons }),
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons for \
                            specific reasons [None, TransactionConflict]",
                "CancellationReasons": [
                    {"Code": "None"},
                    {"Code": "TransactionConflict",
                     "Message": "Transaction is ongoing for the item"}
                ]
            })
        );
        for (error, code) in [
            (
                Error::TransactionConflict("m".to_owned()),
                "TransactionConflictException",
            ),
            (
                Error::IdempotentParameterMismatch("m".to_owned()),
                "IdempotentParameterMismatchException",
            ),
            (
                Error::TransactionInProgress("m".to_owned()),
                "TransactionInProgressException",
            ),
        ] {
            assert_eq!(
                body(error),
                serde_json::json!({
                    "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
                    "message": "m"
                })
            );
        }
    }
}
