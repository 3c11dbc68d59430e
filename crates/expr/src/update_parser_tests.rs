//! Tests of the UpdateExpression parser. Expected messages come from dynalite's
//! `test/updateItem.js` (recorded against DynamoDB) unless a case says otherwise.

use super::*;
use crate::check::Unchecked;
use crate::error::ExpressionKind;
use crate::placeholders::MapContext;

fn context(names: &[(&str, &str)], values: &[(&str, ValueType)]) -> MapContext {
    MapContext {
        names: names
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        values: values
            .iter()
            .map(|(k, t)| (k.to_string(), Some(*t)))
            .collect(),
        strings: Default::default(),
    }
}

fn message(text: &str, context: &dyn ExpressionContext) -> String {
    match parse_update(text, context) {
        Ok(update) => format!("parsed: {update}"),
        Err(error) => error.message(ExpressionKind::Update),
    }
}

fn prefixed(reason: &str) -> String {
    format!("Invalid UpdateExpression: {reason}")
}

#[test]
fn empty_and_syntax_errors() {
    assert_eq!(
        message("", &Unchecked),
        prefixed("The expression can not be empty;")
    );
    let syntax = [
        "whatever",
        "set a",
        "add a",
        "delete a",
        "set a=set",
        "remove a = b",
        "add a = b",
        "delete a = b",
        "delete a b",
        "delete a if_not_exist(b)",
        "add abort b",
        "add a if_not_exist(b)",
        "remove a b",
        "set a b",
        "set :a = b",
        "add :a b",
        "delete :a b",
        "remove :a",
        "set a = b / c",
        "set a = b * c",
        "set a[1] = \"eight\"",
        "set a[1] = 1",
        "SET a = if_not_exist(a, 100)",
        "SET if_not_exist(a, b) = a",
        "set (a = (b + c))",
        "set a = (b.c).d + e",
        "set a = (b.c)[0] + e",
        "set a = b + c + d",
        "   ",
        "set a = b,",
        "set a = b, set c = d",
    ];
    for text in syntax {
        assert!(
            message(text, &Unchecked)
                .starts_with("Invalid UpdateExpression: Syntax error; token: "),
            "{text}: {}",
            message(text, &Unchecked)
        );
    }
}

#[test]
fn syntax_errors_name_token_and_surroundings() {
    // The first case is a real DynamoDB answer (aws/aws-cdk#7591).
    let cases = [
        ("ADD hits : incr", ":", "hits : incr"),
        ("set a = b + c + d", "+", "c + d"),
        ("remove a b", "b", "a b"),
        ("set a", "<EOF>", "a"),
        ("SET a = if_not_exist(a, 100)", "100", ", 100)"),
        ("set a=set", "set", "=set"),
    ];
    for (text, token, near) in cases {
        assert_eq!(
            message(text, &Unchecked),
            prefixed(&format!(
                "Syntax error; token: \"{token}\", near: \"{near}\""
            )),
            "{text}"
        );
    }
}

#[test]
fn parses_every_clause_in_any_order_and_case() {
    let update = parse_update(
        "ADD #e :e,#d :d DELETE #c :c REMOVE #b SET #f = :f",
        &Unchecked,
    )
    .unwrap();
    assert_eq!(
        update.to_string(),
        "SET #f = :f REMOVE #b ADD #e :e, #d :d DELETE #c :c"
    );
    let update = parse_update(
        "set b.c=((c[1])+(b.a)),b.a = a,c[1] = a, c[4] = b.a - b.b, c[2] = b.c add c[8] :b, c[6] :a",
        &Unchecked,
    )
    .unwrap();
    assert_eq!(
        update.to_string(),
        "SET b.c = c[1] + b.a, b.a = a, c[1] = a, c[4] = b.a - b.b, c[2] = b.c \
         ADD c[8] :b, c[6] :a"
    );
    let update = parse_update(
        "set a = (b) + (c), l = list_append(if_not_exists(l, :e), (:v)), n = (:x)",
        &Unchecked,
    )
    .unwrap();
    assert_eq!(
        update.to_string(),
        "SET a = b + c, l = list_append(if_not_exists(l, :e), :v), n = :x"
    );
}

#[test]
fn reserved_words_come_first() {
    let ctx = context(
        &[("#a", "a"), ("#b", "b")],
        &[(":a", ValueType::S), (":b", ValueType::S)],
    );
    for (text, word) in [
        (" set #c = :c set abOrt = true ", "abOrt"),
        (" remove Absolute ", "Absolute"),
    ] {
        assert_eq!(
            message(text, &ctx),
            prefixed(&format!(
                "Attribute name is a reserved keyword; reserved keyword: {word}"
            ))
        );
    }
}

#[test]
fn function_names() {
    let ctx = context(
        &[("#a", "a"), ("#b", "b")],
        &[(":a", ValueType::S), (":b", ValueType::S)],
    );
    assert_eq!(
        message("set #c = if_not_exist(:c) set c = d", &ctx),
        prefixed("Invalid function name; function: if_not_exist")
    );
    // Condition functions are known but refused in SET (DynamoDB Local's wording).
    assert_eq!(
        message("set a = size(b)", &Unchecked),
        prefixed("The function is not allowed in an update expression; function: size")
    );
    assert_eq!(
        message("set a = list_append(a, attribute_exists(b))", &Unchecked),
        prefixed("The function is not allowed in an update expression; function: attribute_exists")
    );
    // Function names are case-sensitive.
    assert_eq!(
        message("set a = IF_NOT_EXISTS(a, b)", &Unchecked),
        prefixed("Invalid function name; function: IF_NOT_EXISTS")
    );
}

#[test]
fn repeated_clauses() {
    let ctx = context(
        &[("#a", "a"), ("#b", "b")],
        &[(":a", ValueType::S), (":b", ValueType::S)],
    );
    for (text, keyword) in [
        ("set a = #c set c = :d", "SET"),
        ("remove #d set a = b remove e", "REMOVE"),
        ("add #d :e set a = b add e :f", "ADD"),
        ("delete #d :e set a = b delete #e :f", "DELETE"),
    ] {
        assert_eq!(
            message(text, &ctx),
            prefixed(&format!(
                "The \"{keyword}\" section can only be used once in an update expression;"
            ))
        );
    }
}

#[test]
fn undefined_placeholders() {
    let ctx = context(
        &[("#a", "a"), ("#b", "b")],
        &[(":a", ValueType::S), (":b", ValueType::S)],
    );
    assert_eq!(
        message("SET #c = if_not_exists(:c)", &ctx),
        prefixed(
            "An expression attribute name used in the document path is not defined; \
             attribute name: #c"
        )
    );
    assert_eq!(
        message("SET #a = if_not_exists(:c)", &ctx),
        prefixed(
            "An expression attribute value used in expression is not defined; \
             attribute value: :c"
        )
    );
}

#[test]
fn overlapping_paths() {
    let ctx = context(&[("#c", "c"), ("#d", "[3]")], &[]);
    let cases = [
        (
            "set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)",
            "[c, [1], a]",
            "[c]",
        ),
        ("set c.b.#c = a, c = a, #d = a", "[c, b, c]", "[c]"),
        ("set a = b remove a, #c, #d", "[a]", "[a]"),
        ("set #c[3].#d = a, #c[3] = a", "[c, [3], [3]]", "[c, [3]]"),
        ("remove c, #c.a, #d", "[c]", "[c, a]"),
        ("remove a, #c, a, #d", "[a]", "[a]"),
    ];
    for (text, one, two) in cases {
        assert_eq!(
            message(text, &ctx),
            prefixed(&format!(
                "Two document paths overlap with each other; must remove or rewrite one of \
                 these paths; path one: {one}, path two: {two}"
            )),
            "{text}"
        );
    }
}

#[test]
fn conflicting_paths() {
    let ctx = context(&[("#b", "b"), ("#c", "c"), ("#d", "[3]")], &[]);
    let cases = [
        (
            "set #c[3].#d = a, #c.#d[3] = if_not_exists(a)",
            "[c, [3], [3]]",
            "[c, [3], [3]]",
        ),
        ("remove a.#c set a[1] = #d", "[a, c]", "[a, [1]]"),
    ];
    for (text, one, two) in cases {
        assert_eq!(
            message(text, &ctx),
            prefixed(&format!(
                "Two document paths conflict with each other; must remove or rewrite one of \
                 these paths; path one: {one}, path two: {two}"
            )),
            "{text}"
        );
    }
}

#[test]
fn add_and_delete_operand_types() {
    use ValueType::*;
    let cases = [
        (
            "set b = list_append(:a, a), c = if_not_exists(a) add a.b :a",
            S,
            "ADD",
            "STRING",
        ),
        ("delete a.b :a", S, "DELETE", "STRING"),
        ("add a.b :a", Null, "ADD", "NULL"),
        ("delete a.b :a", Null, "DELETE", "NULL"),
        ("add a.b :a", Bool, "ADD", "BOOLEAN"),
        ("delete a.b :a", Bool, "DELETE", "BOOLEAN"),
        ("add a.b :a", B, "ADD", "BINARY"),
        ("delete a.b :a", B, "DELETE", "BINARY"),
        ("add a.b :a", M, "ADD", "MAP"),
        ("delete a.b :a", M, "DELETE", "MAP"),
        ("add a.b :a", L, "ADD", "LIST"),
        ("delete a.b :a", L, "DELETE", "LIST"),
        ("delete a.b :a", N, "DELETE", "NUMBER"),
    ];
    for (text, value_type, operator, operand_type) in cases {
        let ctx = context(&[], &[(":a", value_type), (":b", S)]);
        assert_eq!(
            message(text, &ctx),
            prefixed(&format!(
                "Incorrect operand type for operator or function; operator: {operator}, \
                 operand type: {operand_type}, typeSet: ALLOWED_FOR_{operator}_OPERAND"
            )),
            "{text}"
        );
    }
    for (text, value_type) in [("add a :a", N), ("add a :a", Ss), ("delete a :a", Ns)] {
        let ctx = context(&[], &[(":a", value_type)]);
        assert!(parse_update(text, &ctx).is_ok(), "{text}");
    }
}

#[test]
fn function_operands() {
    let ctx = context(
        &[("#a", "a"), ("#b", "b")],
        &[(":a", ValueType::S), (":b", ValueType::S)],
    );
    assert_eq!(
        message("set a = if_not_exists(c)", &ctx),
        prefixed(
            "Incorrect number of operands for operator or function; \
             operator or function: if_not_exists, number of operands: 1"
        )
    );
    assert_eq!(
        message("set a = list_append(c, d, e)", &ctx),
        prefixed(
            "Incorrect number of operands for operator or function; \
             operator or function: list_append, number of operands: 3"
        )
    );
    for text in [
        "set a = if_not_exists(:a, c)",
        "set a = if_not_exists(if_not_exists(a, b), c)",
    ] {
        assert_eq!(
            message(text, &ctx),
            prefixed("Operator or function requires a document path; operator or function: if_not_exists"),
            "{text}"
        );
    }
}

#[test]
fn function_operand_types() {
    use ValueType::*;
    let ctx = context(
        &[("#a", "a"), ("#b", "b")],
        &[
            (":a", S),
            (":b", N),
            (":c", B),
            (":d", Bool),
            (":e", Null),
            (":f", Ss),
            (":g", Ns),
            (":h", Bs),
            (":i", M),
            (":j", L),
        ],
    );
    let cases = [
        ("set a = list_append(:a, a)", "list_append", "S"),
        ("set a = list_append(a, :b)", "list_append", "N"),
        ("set a = list_append(:c, a)", "list_append", "B"),
        ("set a = list_append(:d, a)", "list_append", "BOOL"),
        ("set a = list_append(:e, a)", "list_append", "NULL"),
        ("set a = list_append(:f, a)", "list_append", "SS"),
        ("set a = list_append(:g, a)", "list_append", "NS"),
        ("set a = list_append(:h, a)", "list_append", "BS"),
        ("set a = list_append(:i, a)", "list_append", "M"),
        ("set a = a + :a", "+", "S"),
        ("set a = :a + :c", "+", "S"),
        ("set a = :c + a", "+", "B"),
        ("set a = a + :d", "+", "BOOL"),
        ("set a = a + :e", "+", "NULL"),
        ("set a = a + :f", "+", "SS"),
        ("set a = a + :g", "+", "NS"),
        ("set a = a + :h", "+", "BS"),
        ("set a = a + :i", "+", "M"),
        ("set a = a + :j", "+", "L"),
        ("set a = a - :a", "-", "S"),
        ("set a = :a - :c", "-", "S"),
        ("set a = :c - a", "-", "B"),
        ("set a = a - :j", "-", "L"),
    ];
    for (text, function, operand_type) in cases {
        assert_eq!(
            message(text, &ctx),
            prefixed(&format!(
                "Incorrect operand type for operator or function; \
                 operator or function: {function}, operand type: {operand_type}"
            )),
            "{text}"
        );
    }
    // Function results are not type-checked before the item is read.
    assert!(parse_update("set a = list_append(if_not_exists(a, :a), :j)", &ctx).is_ok());
    assert!(parse_update("set a = :b + :b, c = list_append(:j, :j)", &ctx).is_ok());
}

#[test]
fn collects_placeholders_of_a_parsed_update() {
    let update = parse_update(
        "remove a set b = list_append(b, if_not_exists(#a, :a)) add #n :n",
        &Unchecked,
    )
    .unwrap();
    let used = crate::UsedPlaceholders::of_update(&update);
    assert_eq!(used.names.into_iter().collect::<Vec<_>>(), ["#a", "#n"]);
    assert_eq!(used.values.into_iter().collect::<Vec<_>>(), [":a", ":n"]);
}

#[test]
fn deep_nesting_is_a_syntax_error_not_a_crash() {
    let deep = format!("SET a = {}b{}", "(".repeat(5000), ")".repeat(5000));
    assert!(message(&deep, &Unchecked).contains("Syntax error"));
    let calls = format!(
        "SET a = {}b{}",
        "list_append(:v, ".repeat(3000),
        ")".repeat(3000)
    );
    assert!(message(&calls, &Unchecked).contains("Syntax error"));
}
