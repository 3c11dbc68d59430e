//! The line formats of exports and imports: DynamoDB JSON, Amazon Ion ([`super::ion`]) and
//! CSV, and the compressions ImportTable reads (GZIP, ZSTD, none).
//!
//! A DynamoDB JSON data line is `{"Item":{"name":{"S":"..."},...}}`, the item in the wire form
//! of the API. CSV follows ImportTable's documented rules: the first line is the header unless
//! `HeaderList` is given; every value is imported as a string (S), except attributes named by
//! the new table's AttributeDefinitions (its keys), which take their defined type; an empty
//! field is no attribute. Fields may be quoted with `"` (a doubled `""` inside is one quote).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

use binderdb_model::{item_from_wire, AttributeValue, Item, KeyType, Number, WireValue};

use super::ion;

/// `ExportFormat` / `InputFormat` (CSV is import-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// `DYNAMODB_JSON`.
    DynamoDbJson,
    /// `ION`.
    Ion,
    /// `CSV`.
    Csv,
}

impl LineFormat {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LineFormat::DynamoDbJson => "DYNAMODB_JSON",
            LineFormat::Ion => "ION",
            LineFormat::Csv => "CSV",
        }
    }

    /// The format named `s`.
    pub fn parse(s: &str) -> Option<LineFormat> {
        Some(match s {
            "DYNAMODB_JSON" => LineFormat::DynamoDbJson,
            "ION" => LineFormat::Ion,
            "CSV" => LineFormat::Csv,
            _ => return None,
        })
    }

    /// The extension of an export's data files (before `.gz`).
    pub fn extension(self) -> &'static str {
        match self {
            LineFormat::DynamoDbJson => "json",
            LineFormat::Ion => "ion",
            LineFormat::Csv => "csv",
        }
    }
}

/// Appends one export data line (with its newline) for `item`.
pub fn write_line(format: LineFormat, item: &Item, out: &mut String) {
    match format {
        LineFormat::Ion => ion::write_item(item, out),
        LineFormat::DynamoDbJson | LineFormat::Csv => {
            out.push_str("{\"Item\":");
            // Serialising a validated item to a String cannot fail.
            if let Ok(json) = serde_json::to_string(item) {
                out.push_str(&json);
            }
            out.push('}');
        }
    }
    out.push('\n');
}

/// One change of an incremental export: when it was written, the item's key, and its image
/// at the end of the period (`new`, absent if deleted) and at its start (`old`, absent if it
/// did not exist or the view is NEW_IMAGE).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeLine {
    /// `Metadata.WriteTimestampMicros`.
    pub write_micros: u64,
    /// `Keys`.
    pub keys: Item,
    /// `NewImage`.
    pub new: Option<Item>,
    /// `OldImage`.
    pub old: Option<Item>,
}

/// Appends one incremental export line (with its newline):
/// `{"Metadata":{"WriteTimestampMicros":{"N":"..."}},"Keys":{...},"NewImage":{...},"OldImage":{...}}`
/// (in Ion, the same struct with Ion values).
pub fn write_change_line(format: LineFormat, change: &ChangeLine, out: &mut String) {
    let mut metadata = Item::new();
    metadata.insert(
        "WriteTimestampMicros".to_owned(),
        AttributeValue::N(Number::from(change.write_micros)),
    );
    let parts = [
        ("Metadata", Some(&metadata)),
        ("Keys", Some(&change.keys)),
        ("NewImage", change.new.as_ref()),
        ("OldImage", change.old.as_ref()),
    ];
    out.push('{');
    let mut first = true;
    for (name, value) in parts {
        let Some(value) = value else { continue };
        if !first {
            out.push(',');
        }
        first = false;
        match format {
            LineFormat::Ion => {
                out.push_str(name);
                out.push(':');
                ion::write_struct(value, out);
            }
            LineFormat::DynamoDbJson | LineFormat::Csv => {
                out.push('"');
                out.push_str(name);
                out.push_str("\":");
                if let Ok(json) = serde_json::to_string(value) {
                    out.push_str(&json);
                }
            }
        }
    }
    out.push_str("}\n");
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
    #[serde(rename = "Item")]
    item: HashMap<String, WireValue>,
}

/// Reads one DynamoDB JSON line; `Ok(None)` for a blank line.
///
/// # Errors
/// Why the line is not an item, in words for the import log.
pub fn read_json_line(line: &str) -> Result<Option<Item>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let parsed: JsonLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
    item_from_wire(parsed.item)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// How CSV lines become items.
#[derive(Debug, Clone)]
pub struct CsvLayout {
    /// The field delimiter.
    pub delimiter: u8,
    /// Column names; `None` until the header line was read.
    pub header: Option<Vec<String>>,
    /// Attributes with a defined type (the new table's AttributeDefinitions).
    pub typed: HashMap<String, KeyType>,
}

/// Splits one CSV record into its fields.
///
/// # Errors
/// An unterminated quote or text after a closing quote.
pub fn split_csv(line: &str, delimiter: u8) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let bytes = line.trim_end_matches(['\r', '\n']).as_bytes();
    let mut i = 0;
    let mut quoted = false;
    let mut was_quoted = false;
    while i < bytes.len() {
        let c = bytes[i];
        if quoted {
            if c == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == b'"' && field.is_empty() && !was_quoted {
            quoted = true;
            was_quoted = true;
        } else if c == delimiter {
            fields.push(String::from_utf8_lossy(&field).into_owned());
            field.clear();
            was_quoted = false;
        } else if was_quoted {
            return Err("text after a closing quote".to_owned());
        } else {
            field.push(c);
        }
        i += 1;
    }
    if quoted {
        return Err("unterminated quoted field".to_owned());
    }
    fields.push(String::from_utf8_lossy(&field).into_owned());
    Ok(fields)
}

impl CsvLayout {
    /// Reads one CSV line: the header (when none is known yet, `Ok(None)`), or an item.
    ///
    /// # Errors
    /// Why the line is not an item.
    pub fn read_line(&mut self, line: &str) -> Result<Option<Item>, String> {
        if line.trim_end_matches(['\r', '\n']).is_empty() {
            return Ok(None);
        }
        let fields = split_csv(line, self.delimiter)?;
        let Some(header) = &self.header else {
            self.header = Some(fields);
            return Ok(None);
        };
        if fields.len() > header.len() {
            return Err(format!(
                "{} fields, but the header names {}",
                fields.len(),
                header.len()
            ));
        }
        let mut item = Item::new();
        for (name, text) in header.iter().zip(fields) {
            if text.is_empty() {
                continue;
            }
            let value = match self.typed.get(name) {
                Some(KeyType::N) => {
                    AttributeValue::N(Number::parse(&text).map_err(|e| format!("{name}: {e}"))?)
                }
                Some(KeyType::B) => {
                    use base64::Engine as _;
                    AttributeValue::B(
                        base64::engine::general_purpose::STANDARD
                            .decode(text.as_bytes())
                            .map_err(|e| format!("{name}: {e}"))?,
                    )
                }
                Some(KeyType::S) | None => AttributeValue::S(text),
            };
            item.insert(name.clone(), value);
        }
        Ok(Some(item))
    }
}

/// `InputCompressionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `GZIP`.
    Gzip,
    /// `ZSTD`.
    Zstd,
    /// `NONE`.
    None,
}

impl Compression {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Gzip => "GZIP",
            Compression::Zstd => "ZSTD",
            Compression::None => "NONE",
        }
    }

    /// The compression named `s`.
    pub fn parse(s: &str) -> Option<Compression> {
        Some(match s {
            "GZIP" => Compression::Gzip,
            "ZSTD" => Compression::Zstd,
            "NONE" => Compression::None,
            _ => return None,
        })
    }

    /// `raw`, decompressed, as lines.
    ///
    /// # Errors
    /// A ZSTD stream whose frame header is unreadable.
    pub fn lines<'a>(self, raw: Box<dyn Read + 'a>) -> Result<Box<dyn BufRead + 'a>, String> {
        const BUFFER: usize = 256 * 1024;
        Ok(match self {
            // Multi-member, as `cat a.gz b.gz` and some writers produce.
            Compression::Gzip => Box::new(BufReader::with_capacity(
                BUFFER,
                flate2::read::MultiGzDecoder::new(BufReader::with_capacity(BUFFER, raw)),
            )),
            Compression::Zstd => Box::new(BufReader::with_capacity(
                BUFFER,
                ruzstd::StreamingDecoder::new(BufReader::with_capacity(BUFFER, raw))
                    .map_err(|e| format!("not a ZSTD stream: {e}"))?,
            )),
            Compression::None => Box::new(BufReader::with_capacity(BUFFER, raw)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_round_trip() {
        let item: Item = serde_json::from_str(
            r#"{"k":{"S":"a"},"n":{"N":"1.50"},"l":{"L":[{"NULL":true},{"BS":["AAE="]}]}}"#,
        )
        .unwrap();
        let mut line = String::new();
        write_line(LineFormat::DynamoDbJson, &item, &mut line);
        assert!(line.starts_with("{\"Item\":{"));
        assert!(line.ends_with("}\n"));
        assert_eq!(read_json_line(&line).unwrap(), Some(item));
        assert_eq!(read_json_line("  ").unwrap(), None);
        for bad in [
            "{}",
            "{\"Item\":{\"a\":{}}}",
            "{\"Item\":{}, \"x\":1}",
            "nope",
        ] {
            assert!(read_json_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_types_defined_attributes_and_reads_quotes() {
        let mut layout = CsvLayout {
            delimiter: b',',
            header: None,
            typed: HashMap::from([("id".to_owned(), KeyType::N)]),
        };
        assert_eq!(layout.read_line("id,name,note\n").unwrap(), None);
        let item = layout
            .read_line("7,\"Smith, \"\"J\"\"\",\n")
            .unwrap()
            .unwrap();
        assert_eq!(item["id"], AttributeValue::N(Number::parse("7").unwrap()));
        assert_eq!(item["name"], AttributeValue::S("Smith, \"J\"".to_owned()));
        assert!(!item.contains_key("note"));
        assert!(layout.read_line("x,y\n").is_err());
        assert!(layout.read_line("1,2,3,4\n").is_err());
        assert!(layout.read_line("1,\"open\n").is_err());
    }
}
