//! The little XML S3 answers with, read without a parser: S3's documents are flat, their
//! values plain text with the five predefined entities and numeric references escaped, and no
//! CDATA, so finding `<Tag>...</Tag>` and unescaping is enough for the elements read here
//! (`Key`, `Size`, `IsTruncated`, `NextContinuationToken`, `UploadId`, `Code`, `Message`).

/// The text of the first `<tag>...</tag>`, unescaped.
pub fn first(xml: &str, tag: &str) -> Option<String> {
    sections(xml, tag).next().map(unescape)
}

/// The raw contents of every `<tag>...</tag>`, in order (not unescaped: they may hold
/// elements).
pub fn sections<'a>(xml: &'a str, tag: &str) -> impl Iterator<Item = &'a str> + 'a {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut rest = xml;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let end = start + rest[start..].find(&close)?;
        let found = &rest[start..end];
        rest = &rest[end + close.len()..];
        Some(found)
    })
}

/// `text` with `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` and `&#N;` / `&#xN;` replaced.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else {
            break;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` escaped for an element's content.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_errors_are_read() {
        let page = "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>\
            <Contents><Key>a&amp;b/&lt;1&gt;</Key><Size>12</Size></Contents>\
            <Contents><Key>caf&#233;&#x21;</Key><Size>0</Size></Contents>\
            <NextContinuationToken>tok/+=</NextContinuationToken></ListBucketResult>";
        let keys: Vec<_> = sections(page, "Contents")
            .map(|c| (first(c, "Key").unwrap(), first(c, "Size").unwrap()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("a&b/<1>".to_owned(), "12".to_owned()),
                ("café!".to_owned(), "0".to_owned())
            ]
        );
        assert_eq!(first(page, "IsTruncated").as_deref(), Some("true"));
        assert_eq!(
            first(page, "NextContinuationToken").as_deref(),
            Some("tok/+=")
        );
        assert_eq!(first(page, "Missing"), None);
        assert_eq!(unescape("a & b &bogus; &#xZZ;"), "a & b &bogus; &#xZZ;");
        assert_eq!(escape("\"e<t>&\""), "&quot;e&lt;t&gt;&amp;&quot;");
    }
}
