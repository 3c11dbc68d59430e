//! PartiQL parser fuzz target: no statement text may make the lexer or parser panic, and
//! parsing is a pure function (the same text gives the same tree or the same error, which
//! the engine's statement cache relies on). Every error renders to a non-empty message, since
//! it is sent as a ValidationException's text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let first = binderdb_partiql::parse(&text);
    let second = binderdb_partiql::parse(&text);
    match (&first, &second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(format!("{:?}", a.statement), format!("{:?}", b.statement));
            assert_eq!(a.parameters, b.parameters);
            // A statement's parameters are its `?` markers, so there are never more of them
            // than question marks in the text.
            assert!(a.parameters <= text.matches('?').count());
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            assert!(!a.to_string().is_empty());
        }
        _ => panic!("parsing {text:?} twice gave different outcomes"),
    }
});
