use crate::ast::{CompareOp, Expr, IsType, Path, Projection, Returning, Statement, Step};
use crate::{parse, ParseError};

fn syntax(text: &str) -> String {
    match parse(text).unwrap_err() {
        ParseError::Syntax(d) => d,
        other => panic!("not a syntax error: {other:?}"),
    }
}

fn path(name: &str) -> Expr {
    Expr::Path(Path {
        name: name.to_owned(),
        steps: vec![],
    })
}

#[test]
fn select_with_index_projection_where_and_order() {
    let p = parse(
        r#"select a, "b".c[2], d['e'] FROM "T"."I" WHERE pk = ? AND sk > 3 ORDER BY sk DESC"#,
    )
    .unwrap();
    assert_eq!(p.parameters, 1);
    let Statement::Select(s) = p.statement else {
        panic!()
    };
    assert_eq!(s.source.table, "T");
    assert_eq!(s.source.index.as_deref(), Some("I"));
    let Projection::Paths(paths) = s.projection else {
        panic!()
    };
    assert_eq!(
        paths[1].steps,
        vec![Step::Field("c".into()), Step::Index(2)]
    );
    assert_eq!(paths[2].steps, vec![Step::Field("e".into())]);
    assert_eq!(s.order_by, vec![("sk".to_owned(), true)]);
    let filter = s.filter.unwrap();
    let terms = filter.conjuncts();
    assert_eq!(
        terms[0],
        &Expr::Compare(
            Box::new(path("pk")),
            CompareOp::Eq,
            Box::new(Expr::Param(0))
        )
    );
}

#[test]
fn literals_of_every_type() {
    let p = parse(
        r#"INSERT INTO t VALUE {'s': 'it''s', 'n': -1.5e3, 'b': true, 'z': null,
            'l': [1, 'a'], 'm': {'x': ?}, 'ss': <<'a', 'b'>>, 'ns': <<1, 2>>}"#,
    )
    .unwrap();
    let Statement::Insert(i) = p.statement else {
        panic!()
    };
    let Expr::Map(entries) = i.item else { panic!() };
    assert_eq!(entries[0].1, Expr::Str("it's".into()));
    assert_eq!(entries[1].1, Expr::Num("-1.5e3".into()));
    assert_eq!(entries[2].1, Expr::Bool(true));
    assert_eq!(entries[3].1, Expr::Null);
    assert_eq!(
        entries[6].1,
        Expr::Bag(vec![Expr::Str("a".into()), Expr::Str("b".into())])
    );
    assert_eq!(p.parameters, 1);
}

#[test]
fn update_and_delete_with_returning() {
    let p = parse(
        "UPDATE t SET a = a + 1, b = 'x' REMOVE c SET d = ? WHERE pk = 'k' RETURNING ALL NEW *",
    )
    .unwrap();
    let Statement::Update(u) = p.statement else {
        panic!()
    };
    assert_eq!(u.actions.len(), 4);
    assert_eq!(u.returning, Some(Returning::AllNew));
    let p = parse("DELETE FROM t WHERE pk = 'k' AND v IS NOT MISSING RETURNING ALL OLD *").unwrap();
    let Statement::Delete(d) = p.statement else {
        panic!()
    };
    assert!(matches!(
        d.filter.unwrap().conjuncts()[1],
        Expr::Is(_, IsType::Missing, true)
    ));
}

#[test]
fn predicates_and_functions() {
    let p = parse(
        "SELECT * FROM t WHERE a BETWEEN 1 AND 2 OR NOT b IN ('x', 'y') AND begins_with(c, 'p') \
         AND size(d) >= 2 AND e NOT IN [1] AND f IS NULL",
    )
    .unwrap();
    let Statement::Select(s) = p.statement else {
        panic!()
    };
    assert!(matches!(s.filter, Some(Expr::Or(..))));
}

#[test]
fn exists_and_trailing_semicolon() {
    let p = parse("EXISTS(SELECT * FROM t WHERE pk = 1 AND x = 2);").unwrap();
    assert!(matches!(p.statement, Statement::Exists(_)));
}

#[test]
fn errors_in_dynamodb_words() {
    assert_eq!(syntax("GET * FROM t"), "Expected data manipulation");
    assert_eq!(
        syntax("SELECT * FROM t WHERE"),
        "Unexpected end of statement"
    );
    assert_eq!(syntax("SELECT * FROM WHERE a = 1"), "Unexpected keyword");
    assert_eq!(syntax("SELECT * FROM t WHERE a = = 1"), "Unexpected token");
    assert_eq!(syntax("SELECT * FROM t x"), "Unexpected term");
    assert_eq!(
        syntax("SELECT * FROM t WHERE a = 'x"),
        "Unterminated string literal"
    );
    assert_eq!(
        syntax("SELECT * FROM t WHERE a = #"),
        "Unexpected character"
    );
    assert!(matches!(
        parse("INSERT INTO t VALUES ('a')"),
        Err(ParseError::Unsupported(_))
    ));
    assert!(matches!(
        parse("UPDATE t SET a = 1 WHERE k = 1 RETURNING ALL NEW"),
        Err(ParseError::Unsupported(_))
    ));
}

#[test]
fn never_panics_on_odd_input() {
    for text in [
        "",
        "é",
        "'",
        "\"",
        "SELECT",
        "SELECT * FROM t WHERE a[",
        "a[99999999999]",
        "UPDATE t SET a[99999999999] = 1 WHERE k = 1",
        "<<",
        "{",
        "SELECT * FROM t WHERE ((((a",
    ] {
        let _ = parse(text);
    }
    let deep = format!(
        "SELECT * FROM t WHERE {}a = 1{}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert_eq!(syntax(&deep), "Expression is nested too deeply");
    let nots = format!("SELECT * FROM t WHERE {}a = 1", "NOT ".repeat(2000));
    assert_eq!(syntax(&nots), "Expression is nested too deeply");
    let lists = format!(
        "INSERT INTO t VALUE {{'a': {}1{}}}",
        "[".repeat(3000),
        "]".repeat(3000)
    );
    assert_eq!(syntax(&lists), "Expression is nested too deeply");
    let fine = format!(
        "SELECT * FROM t WHERE {}a = 1{}",
        "(".repeat(50),
        ")".repeat(50)
    );
    assert!(parse(&fine).is_ok());
}

mod properties {
    use proptest::prelude::*;

    use crate::parse;

    /// Fragments of the dialect, so random statements get past the first token often.
    fn fragment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "SELECT",
            "*",
            "FROM",
            "\"t\"",
            ".",
            "\"i\"",
            "WHERE",
            "a",
            "b.c",
            "[1]",
            "=",
            "<>",
            "<",
            ">=",
            "AND",
            "OR",
            "NOT",
            "(",
            ")",
            "'x'",
            "''",
            "1",
            "-2.5e3",
            "?",
            "BETWEEN",
            "IN",
            "[",
            "]",
            "{",
            "}",
            "<<",
            ">>",
            ":",
            ",",
            "IS",
            "MISSING",
            "NULL",
            "INSERT",
            "INTO",
            "VALUE",
            "UPDATE",
            "SET",
            "REMOVE",
            "DELETE",
            "RETURNING",
            "ALL",
            "OLD",
            "NEW",
            "EXISTS",
            "ORDER",
            "BY",
            "DESC",
            "begins_with",
            "size",
            "+",
            ";",
            "é",
            "\"",
        ])
    }

    proptest! {
        /// No input makes the parser panic; a statement that parses counts its `?`s.
        #[test]
        fn any_token_soup_parses_or_fails_cleanly(parts in prop::collection::vec(fragment(), 0..40)) {
            let text = parts.join(" ");
            // (A `?` inside a quoted name or string is no placeholder.)
            let quoted = text.contains('"') || text.contains('\'');
            if let (Ok(parsed), false) = (parse(&text), quoted) {
                prop_assert_eq!(parsed.parameters, text.matches('?').count());
            }
        }

        #[test]
        fn any_text_parses_or_fails_cleanly(text in ".{0,200}") {
            let _ = parse(&text);
        }
    }
}
