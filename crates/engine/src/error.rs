//! The engine's error type.
//!
//! Every failure an operation can report to a client is one variant here, carrying DynamoDB's
//! exact message. The server maps each variant to its wire `__type` and HTTP status in one place
//! (`binderdb_server::error`); nothing else inspects messages.

use binderdb_storage::StorageError;

/// An engine operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is semantically invalid (DynamoDB's `ValidationException`).
    #[error("{0}")]
    Validation(String),
    /// The table (or index) does not exist (`ResourceNotFoundException`).
    #[error("{0}")]
    ResourceNotFound(String),
    /// The table exists already, or is in a state that forbids the change
    /// (`ResourceInUseException`).
    #[error("{0}")]
    ResourceInUse(String),
    /// A per-table or per-account limit was reached (`LimitExceededException`), e.g. a second
    /// online index creation while one is in progress.
    #[error("{0}")]
    LimitExceeded(String),
    /// A write would grow an item collection (a partition key's items and their local index
    /// entries) past 10 GB (`ItemCollectionSizeLimitExceededException`).
    #[error("{0}")]
    ItemCollectionSizeLimitExceeded(String),
    /// A ConditionExpression (or Expected) evaluated to false (`ConditionalCheckFailedException`).
    /// `item` is the item as it was, when the request asked for it with
    /// `ReturnValuesOnConditionCheckFailure=ALL_OLD`.
    #[error("The conditional request failed")]
    ConditionalCheckFailed {
        /// The current item, if requested and present.
        item: Option<binderdb_model::Item>,
    },
    /// A PartiQL INSERT of an item whose key exists (`DuplicateItemException`).
    #[error("{0}")]
    DuplicateItem(String),
    /// A transaction was cancelled (`TransactionCanceledException`): one reason per action, in
    /// action order (`None` for the actions that would have succeeded).
    #[error("{}", canceled_message(.reasons))]
    TransactionCanceled {
        /// The reasons, in action order.
        reasons: Vec<crate::api::CancellationReason>,
    },
    /// A plain write touched an item a transaction holds (`TransactionConflictException`).
    #[error("{0}")]
    TransactionConflict(String),
    /// A TransactWriteItems reused a ClientRequestToken of the last 10 minutes with other
    /// parameters (`IdempotentParameterMismatchException`).
    #[error("{0}")]
    IdempotentParameterMismatch(String),
    /// A TransactWriteItems with the ClientRequestToken of one still running
    /// (`TransactionInProgressException`).
    #[error("{0}")]
    TransactionInProgress(String),
    /// A resource-based policy operation found no policy, or one with another revision than
    /// the request expected (`PolicyNotFoundException`).
    #[error("{0}")]
    PolicyNotFound(String),
    /// A stream shard iterator older than 15 minutes (`ExpiredIteratorException`).
    #[error("{0}")]
    ExpiredIterator(String),
    /// A stream read before the oldest record kept (`TrimmedDataAccessException`).
    #[error("{0}")]
    TrimmedDataAccess(String),
    /// A provisioned table's or index's throughput (or a partition's) was exceeded
    /// (`ProvisionedThroughputExceededException`); see `capacity::throttle`.
    #[error("{message}")]
    ProvisionedThroughputExceeded {
        /// DynamoDB's message.
        message: String,
        /// `ThrottlingReasons`.
        reasons: Vec<crate::api::ThrottlingReason>,
    },
    /// An on-demand table's ceiling or maximum was reached (`ThrottlingException`).
    #[error("{message}")]
    Throttling {
        /// The message.
        message: String,
        /// `ThrottlingReasons`.
        reasons: Vec<crate::api::ThrottlingReason>,
    },
    /// A fault injected by a rule (`binderdb faults`): the error named by the rule, with its
    /// wire code, HTTP status and message chosen there.
    #[error("{message}")]
    Injected {
        /// The error code, e.g. `InternalServerError`.
        code: String,
        /// The message.
        message: String,
    },
    /// No backup has the given ARN (`BackupNotFoundException`).
    #[error("{0}")]
    BackupNotFound(String),
    /// The backup is still being created, or another backup operation conflicts
    /// (`BackupInUseException`).
    #[error("{0}")]
    BackupInUse(String),
    /// A backup operation names a table that does not exist (`TableNotFoundException`).
    #[error("{0}")]
    TableNotFound(String),
    /// A restore's target table exists already (`TableAlreadyExistsException`).
    #[error("{0}")]
    TableAlreadyExists(String),
    /// A restore's target is another restore's target, still being created
    /// (`TableInUseException`).
    #[error("{0}")]
    TableInUse(String),
    /// No export has the given ARN (`ExportNotFoundException`).
    #[error("{0}")]
    ExportNotFound(String),
    /// No import has the given ARN (`ImportNotFoundException`).
    #[error("{0}")]
    ImportNotFound(String),
    /// A ClientToken reused with another export request (`ExportConflictException`).
    #[error("{0}")]
    ExportConflict(String),
    /// A ClientToken reused with another import request, or an import into a table that
    /// exists (`ImportConflictException`).
    #[error("{0}")]
    ImportConflict(String),
    /// An ExportTime outside the table's recoverable window (`InvalidExportTimeException`).
    #[error("{0}")]
    InvalidExportTime(String),
    /// A point-in-time restore (or export) of a table without point-in-time recovery
    /// (`PointInTimeRecoveryUnavailableException`).
    #[error("{0}")]
    PointInTimeRecoveryUnavailable(String),
    /// A restore time outside the table's recovery window (`InvalidRestoreTimeException`).
    #[error("{0}")]
    InvalidRestoreTime(String),
    /// A storage engine failure: a real server fault (HTTP 500).
    #[error("internal storage error: {0}")]
    Storage(#[from] StorageError),
    /// A stored record could not be decoded: a real server fault (HTTP 500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A `ValidationException` with `message`.
    pub fn validation(message: impl Into<String>) -> Self {
        Error::Validation(message.into())
    }

    /// A `ValidationException` with DynamoDB's "One or more parameter values were invalid: "
    /// before `detail`.
    pub fn invalid_parameter(detail: impl std::fmt::Display) -> Self {
        Error::Validation(format!(
            "One or more parameter values were invalid: {detail}"
        ))
    }

    /// A `ResourceInUseException` with DynamoDB's "Attempt to change a resource which is still
    /// in use: " before `detail`.
    pub fn in_use(detail: impl std::fmt::Display) -> Self {
        Error::ResourceInUse(format!(
            "Attempt to change a resource which is still in use: {detail}"
        ))
    }

    /// DynamoDB's "Requested resource not found" for item operations on a missing table.
    pub fn table_not_found() -> Self {
        Error::ResourceNotFound("Requested resource not found".to_owned())
    }

    /// A `ValidationException` for a request parameter binderdb does not implement yet.
    ///
    /// binderdb answers such requests explicitly instead of silently ignoring the parameter, so a
    /// client never gets a result computed without, say, its ConditionExpression.
    pub fn unsupported(what: &str) -> Self {
        Error::Validation(format!("binderdb does not support {what} yet"))
    }
}

/// DynamoDB's TransactionCanceledException message: the reason codes in action order.
pub fn canceled_message(reasons: &[crate::api::CancellationReason]) -> String {
    let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
    format!(
        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
        codes.join(", ")
    )
}

impl From<binderdb_model::ValueError> for Error {
    fn from(e: binderdb_model::ValueError) -> Self {
        Error::Validation(e.to_string())
    }
}

impl From<binderdb_model::CodecError> for Error {
    fn from(e: binderdb_model::CodecError) -> Self {
        Error::Internal(format!("corrupt stored item: {e}"))
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
