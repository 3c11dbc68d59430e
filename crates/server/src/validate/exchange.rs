//! Request constraints of export and import, from DynamoDB's API model: ARN lengths, the S3
//! bucket name pattern and length, prefix lengths, the enums, page sizes (1 to 25) and the CSV
//! delimiter.

use binderdb_engine::api::{
    ExportArnInput, ExportTableToPointInTimeInput, ImportArnInput, ImportTableInput,
    ListExportsInput, ListImportsInput, S3BucketSource,
};

use super::{quoted, Violations};
use crate::error::ApiError;

const EXPORT_FORMAT: &[&str] = &["DYNAMODB_JSON", "ION"];
const EXPORT_TYPE: &[&str] = &["FULL_EXPORT", "INCREMENTAL_EXPORT"];
const EXPORT_VIEW_TYPE: &[&str] = &["NEW_IMAGE", "NEW_AND_OLD_IMAGES"];
const SSE_ALGORITHM: &[&str] = &["AES256", "KMS"];
const INPUT_FORMAT: &[&str] = &["DYNAMODB_JSON", "ION", "CSV"];
const COMPRESSION: &[&str] = &["GZIP", "ZSTD", "NONE"];
const BUCKET_PATTERN: &str = "^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$";
const DELIMITER_PATTERN: &str = "[,;:|\\t ]";

fn bucket_name_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

impl Violations {
    fn bucket(&mut self, path: &str, v: Option<&String>) {
        let Some(s) = v else { return };
        if !bucket_name_ok(s) {
            self.push(
                Some(quoted(s)),
                path,
                &format!("Member must satisfy regular expression pattern: {BUCKET_PATTERN}"),
            );
        }
        self.length(path, s, 0, 255);
    }

    fn bucket_source(&mut self, s: &S3BucketSource) {
        if self.not_null("s3BucketSource.s3Bucket", s.s3_bucket.as_ref()) {
            self.bucket("s3BucketSource.s3Bucket", s.s3_bucket.as_ref());
        }
        self.optional_length(
            "s3BucketSource.s3KeyPrefix",
            s.s3_key_prefix.as_ref(),
            0,
            1024,
        );
    }
}

/// ExportTableToPointInTime.
pub fn export_table_to_point_in_time(r: &ExportTableToPointInTimeInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    // An empty TableArn is not a length violation but the engine's "Invalid TableArn: Invalid
    // Table ARN" (the ack-api-quirks lab's DDB-TABLE-457).
    if v.not_null("tableArn", r.table_arn.as_ref()) {
        v.optional_length("tableArn", r.table_arn.as_ref(), 0, 1024);
    }
    if v.not_null("s3Bucket", r.s3_bucket.as_ref()) {
        v.bucket("s3Bucket", r.s3_bucket.as_ref());
    }
    v.optional_length("s3Prefix", r.s3_prefix.as_ref(), 0, 1024);
    v.optional_length("s3SseKmsKeyId", r.s3_sse_kms_key_id.as_ref(), 1, 2048);
    v.one_of("s3SseAlgorithm", r.s3_sse_algorithm.as_ref(), SSE_ALGORITHM);
    v.one_of("exportFormat", r.export_format.as_ref(), EXPORT_FORMAT);
    v.one_of("exportType", r.export_type.as_ref(), EXPORT_TYPE);
    if let Some(spec) = &r.incremental_export_specification {
        v.one_of(
            "incrementalExportSpecification.exportViewType",
            spec.export_view_type.as_ref(),
            EXPORT_VIEW_TYPE,
        );
    }
    v.finish()
}

/// DescribeExport.
pub fn export_arn(r: &ExportArnInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    if v.not_null("exportArn", r.export_arn.as_ref()) {
        v.optional_length("exportArn", r.export_arn.as_ref(), 37, 1024);
    }
    v.finish()
}

/// ListExports.
pub fn list_exports(r: &ListExportsInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.optional_length("tableArn", r.table_arn.as_ref(), 1, 1024);
    v.range("maxResults", r.max_results, 1, Some(25));
    v.finish()
}

/// ImportTable.
pub fn import_table(r: &ImportTableInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.optional_length("clientToken", r.client_token.as_ref(), 1, 36);
    if v.not_null("s3BucketSource", r.s3_bucket_source.as_ref()) {
        if let Some(s) = &r.s3_bucket_source {
            v.bucket_source(s);
        }
    }
    if v.not_null("inputFormat", r.input_format.as_ref()) {
        v.one_of("inputFormat", r.input_format.as_ref(), INPUT_FORMAT);
    }
    v.one_of(
        "inputCompressionType",
        r.input_compression_type.as_ref(),
        COMPRESSION,
    );
    if let Some(csv) = r.input_format_options.as_ref().and_then(|o| o.csv.as_ref()) {
        if let Some(d) = &csv.delimiter {
            if !matches!(d.as_str(), "," | ";" | ":" | "|" | "\t" | " ") {
                v.push(
                    Some(quoted(d)),
                    "inputFormatOptions.csv.delimiter",
                    &format!("Member must satisfy regular expression pattern: {DELIMITER_PATTERN}"),
                );
            }
        }
        if let Some(list) = &csv.header_list {
            if list.is_empty() || list.len() > 255 {
                v.push(
                    Some(quoted(&format!("{list:?}"))),
                    "inputFormatOptions.csv.headerList",
                    "Member must have length between 1 and 255",
                );
            }
        }
    }
    if v.not_null(
        "tableCreationParameters",
        r.table_creation_parameters.as_ref(),
    ) {
        if let Some(p) = &r.table_creation_parameters {
            let path = "tableCreationParameters.tableName";
            if v.not_null(path, p.value.table_name.as_ref()) {
                v.name(path, p.value.table_name.as_deref());
            }
        }
    }
    v.finish()
}

/// DescribeImport.
pub fn import_arn(r: &ImportArnInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    if v.not_null("importArn", r.import_arn.as_ref()) {
        v.optional_length("importArn", r.import_arn.as_ref(), 37, 1024);
    }
    v.finish()
}

/// ListImports.
pub fn list_imports(r: &ListImportsInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.optional_length("tableArn", r.table_arn.as_ref(), 1, 1024);
    v.range("pageSize", r.page_size, 1, Some(25));
    v.finish()
}
