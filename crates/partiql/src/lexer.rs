//! Tokens of DynamoDB's PartiQL dialect.

use crate::ParseError;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A bare identifier or keyword, as written (keywords compare case-insensitively).
    Word(String),
    /// A `"double-quoted"` identifier (`""` inside is one `"`).
    Quoted(String),
    /// A `'single-quoted'` string (`''` inside is one `'`).
    Str(String),
    /// A number, as written (digits, a fraction, an exponent).
    Num(String),
    /// `?`.
    Param,
    /// Punctuation and operators: `( ) [ ] { } << >> , . : * = <> != < <= > >= + - ;`.
    Punct(&'static str),
}

const PUNCT: [&str; 22] = [
    "<<", ">>", "<>", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "*", "=", "<",
    ">", "+", "-", ";",
];

/// Splits `text` into tokens.
///
/// # Errors
/// An unterminated string or quoted identifier, or a character outside the dialect.
pub fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // `--` comments run to the end of the line, as in SQL.
        if text[i..].starts_with("--") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'\'' || c == b'"' {
            let (content, next) = quoted(text, i, c)?;
            tokens.push(if c == b'\'' {
                Token::Str(content)
            } else {
                Token::Quoted(content)
            });
            i = next;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                let mut j = i + 1;
                if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j].is_ascii_digit() {
                    i = j;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Num(text[start..i].to_owned()));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$')
            {
                i += 1;
            }
            tokens.push(Token::Word(text[start..i].to_owned()));
            continue;
        }
        if c == b'?' {
            tokens.push(Token::Param);
            i += 1;
            continue;
        }
        match PUNCT.iter().find(|p| text[i..].starts_with(**p)) {
            Some(p) => {
                tokens.push(Token::Punct(p));
                i += p.len();
            }
            None => return Err(ParseError::new("Unexpected character")),
        }
    }
    Ok(tokens)
}

/// The content of the quoted token starting at `start`, and the index after it.
fn quoted(text: &str, start: usize, quote: u8) -> Result<(String, usize), ParseError> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut run = i;
    while i < bytes.len() {
        if bytes[i] == quote {
            out.push_str(&text[run..i]);
            if i + 1 < bytes.len() && bytes[i + 1] == quote {
                out.push(quote as char);
                i += 2;
                run = i;
                continue;
            }
            return Ok((out, i + 1));
        }
        i += 1;
    }
    Err(ParseError::new(if quote == b'\'' {
        "Unterminated string literal"
    } else {
        "Unterminated quoted identifier"
    }))
}
