//! The web console: static files embedded in the binary, served under `/console`.
//!
//! The console is plain HTML, CSS and JavaScript modules (`crates/server/console/`), compiled
//! into the binary with `include_str!`, so it needs no build step, no files beside the binary
//! and nothing from the network. Its scripts talk to this server only as any client does:
//! signed `POST /` calls of the DynamoDB and Streams APIs (SigV4 computed in the browser), and
//! `GET /bill` and `GET /metrics`. The server side is only this file: a fixed table of assets.
//!
//! - `GET /console` and `GET /console/` answer the page (`index.html`); the page routes with
//!   the URL's fragment (`#/tables/orders`), so no other path needs to exist.
//! - `GET /console/<file>` answers one asset with its content type; any other path under
//!   `/console/` is the same 404 as any unknown path.
//! - `HEAD` answers like `GET` without the body.
//!
//! The assets need no signature even when access keys are configured: they hold no data, and a
//! browser has to load the page before it can ask for a key. Every answer carries a
//! `Content-Security-Policy` that allows only this origin, so a console page can make no
//! external request even by mistake, and `X-Content-Type-Options: nosniff`.
//!
//! A `POST` under `/console` stays an API call, as any `POST` path is in DynamoDB.

use bytes::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL};
use hyper::StatusCode;

use crate::http::HttpResponse;

/// Where the console lives.
pub const CONSOLE_PATH: &str = "/console";

/// Scripts, styles and connections only from this origin; images from it or `data:`.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// One embedded file: its name under `/console/`, its content type and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_str!(concat!("../console/", $name)),
        }
    };
}

/// Every file of the console. A file added to `crates/server/console/` must be listed here
/// (a test checks that every file there is served).
pub const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("favicon.svg", SVG),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("sigv4.js", JS),
    asset!("ddbjson.js", JS),
    asset!("ui.js", JS),
    asset!("chart.js", JS),
    asset!("tables.js", JS),
    asset!("create_table.js", JS),
    asset!("keys.js", JS),
    asset!("table.js", JS),
    asset!("items.js", JS),
    asset!("partiql.js", JS),
    asset!("streams.js", JS),
    asset!("capacity.js", JS),
];

/// Whether `path` is the console's (`/console` or below it).
pub(crate) fn is_console_path(path: &str) -> bool {
    path == CONSOLE_PATH
        || path
            .strip_prefix(CONSOLE_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The asset at `path` (a console path), if there is one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    let name = match path.strip_prefix(CONSOLE_PATH)? {
        "" | "/" => "index.html",
        rest => rest.strip_prefix('/')?,
    };
    ASSETS.iter().find(|a| a.name == name)
}

/// Answers a `GET` or `HEAD` of a console path, or `None` when no asset is there.
pub(crate) fn serve(path: &str) -> Option<HttpResponse> {
    let asset = asset(path)?;
    let mut resp = crate::http::text(
        StatusCode::OK,
        Bytes::from_static(asset.body.as_bytes()),
        asset.content_type,
    );
    let headers = resp.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // The files change with the binary: a browser revalidates instead of keeping an old copy
    // after an upgrade.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_paths_and_their_assets() {
        assert!(is_console_path("/console"));
        assert!(is_console_path("/console/app.js"));
        assert!(!is_console_path("/consoles"));
        assert!(!is_console_path("/"));
        assert_eq!(asset("/console").map(|a| a.name), Some("index.html"));
        assert_eq!(asset("/console/").map(|a| a.name), Some("index.html"));
        assert_eq!(asset("/console/app.js").map(|a| a.name), Some("app.js"));
        assert!(asset("/console/nope.js").is_none());
        assert!(asset("/console/../Cargo.toml").is_none());
    }

    #[test]
    fn every_asset_has_a_type_matching_its_extension() {
        for a in ASSETS {
            let ext = a.name.rsplit('.').next().unwrap_or_default();
            let expected = match ext {
                "html" => HTML,
                "js" => JS,
                "css" => CSS,
                "svg" => SVG,
                _ => "",
            };
            assert_eq!(a.content_type, expected, "{}", a.name);
        }
    }
}
