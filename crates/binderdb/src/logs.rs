//! `binderdb serve`'s log lines: `tracing`'s own text and JSON formats, plus the id of the
//! request being served (`binderdb_server::request_id::current`) on every line written while
//! one is.
//!
//! The id is not a `tracing` span (a span per request costs every request, logged or not; see
//! `binderdb_server::request_id`), so these formatters add it where a span would have been:
//! - text: `2026-12-06T08:00:00.000000Z  WARN request{request_id=X1FNQ...}: slow request ...`,
//!   as the span `request{request_id=...}` was written before;
//! - JSON: a top-level `request_id` member beside `timestamp`, `level` and `fields`.
//!
//! Lines written outside any request (start-up, background workers) are `tracing`'s unchanged.
//! The shape of the lines is checked end to end by `tests/logs.rs`.

use std::fmt;

use binderdb_server::request_id;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Json, JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// Sends the server's logs to stderr at `level` and above, in `format`.
pub(crate) fn init(level: Level, format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: piped or collected logs stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => logs.event_format(Text::default()).init(),
        // One object per line: timestamp, level, fields, the request id and, inside a span,
        // the span.
        LogFormat::Json => logs
            .fmt_fields(JsonFields::new())
            .event_format(JsonLine {
                inner: stock()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_target(false),
            })
            .init(),
    }
}

fn stock() -> Format {
    tracing_subscriber::fmt::format()
}

/// The text format: timestamp, level, the request, then `tracing`'s spans and fields.
struct Text {
    /// Everything after the level, as `tracing` writes it.
    rest: Format<Full, ()>,
}

impl Default for Text {
    fn default() -> Self {
        Text {
            rest: stock().without_time().with_level(false).with_target(false),
        }
    }
}

/// ANSI styles, as `tracing`'s own text format uses them.
const DIMMED: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ansi = writer.has_ansi_escapes();
        let (dimmed, bold, reset) = if ansi {
            (DIMMED, BOLD, RESET)
        } else {
            ("", "", "")
        };
        writer.write_str(dimmed)?;
        if SystemTime.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        write!(writer, "{reset} ")?;
        let level = *event.metadata().level();
        let name = match level {
            Level::TRACE => "TRACE",
            Level::DEBUG => "DEBUG",
            Level::INFO => " INFO",
            Level::WARN => " WARN",
            Level::ERROR => "ERROR",
        };
        if ansi {
            let colour = match level {
                Level::TRACE => 35,
                Level::DEBUG => 34,
                Level::INFO => 32,
                Level::WARN => 33,
                Level::ERROR => 31,
            };
            write!(writer, "\x1b[{colour}m{name}{RESET} ")?;
        } else {
            write!(writer, "{name} ")?;
        }
        if let Some(id) = request_id::current() {
            write!(
                writer,
                "{bold}request{{{reset}request_id={id}{bold}}}{reset}{dimmed}:{reset} "
            )?;
        }
        self.rest.format_event(ctx, writer, event)
    }
}

/// The JSON format: `tracing`'s object, with the request's id as its first member.
struct JsonLine {
    inner: Format<Json>,
}

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(id) = request_id::current() else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        // tracing's line is always one JSON object; the id is letters and digits (no escaping).
        match line.strip_prefix('{') {
            Some(rest) => write!(writer, "{{\"request_id\":\"{id}\",{rest}"),
            None => writer.write_str(&line),
        }
    }
}
