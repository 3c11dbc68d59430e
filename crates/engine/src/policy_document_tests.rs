//! The canonicaliser and the document checks, each rule with the finding it follows.

use super::*;

const PREFIX: &str = "One or more parameter values were invalid: Invalid policy document: ";
const ARN: &str = "arn:aws:dynamodb:us-west-2:111122223333:table/T";

fn canon(document: &str) -> String {
    canonical_policy(document).unwrap()
}

fn err(document: &str) -> String {
    canonical_policy(document).unwrap_err().to_string()
}

#[test]
fn pretty_printed_scrambled_documents_read_back_minified_in_iam_order() {
    // DDB-TABLE-208's example, sent pretty-printed with its keys reversed.
    let sent = format!(
        r#"{{
          "Statement": [ {{
              "Resource": [ "{ARN}" ],
              "Action": [ "dynamodb:GetItem" ],
              "Principal": {{ "AWS": "111122223333" }},
              "Effect": "Allow",
              "Sid": "AckqAllowRead"
          }} ],
          "Version": "2012-10-17"
        }}"#
    );
    let expected = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"AckqAllowRead","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"dynamodb:GetItem","Resource":"{ARN}"}}]}}"#
    );
    assert_eq!(canon(&sent), expected);
    // The canonical form is a fixpoint (DDB-TABLE-351).
    assert_eq!(canon(&expected), expected);
}

#[test]
fn every_statement_member_has_its_place() {
    let sent = r#"{"Id":"i","Statement":[{"Condition":{"Bool":{"aws:SecureTransport":"true"}},
        "NotResource":"x","NotAction":["a","b"],"NotPrincipal":{"AWS":"*"},"Effect":"Deny",
        "Sid":"s","Extra":1}],"Version":"2012-10-17"}"#;
    assert_eq!(
        canon(sent),
        r#"{"Version":"2012-10-17","Id":"i","Statement":[{"Sid":"s","Effect":"Deny","NotPrincipal":{"AWS":"*"},"NotAction":["a","b"],"NotResource":"x","Condition":{"Bool":{"aws:SecureTransport":"true"}},"Extra":1}]}"#
    );
}

#[test]
fn lists_collapse_only_when_they_hold_one_element() {
    // DDB-TABLE-353: no sorting, no de-duplication, no case folding of Action or Resource.
    let sent = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},
        "Action":["dynamodb:Query","dynamodb:GetItem","dynamodb:GetItem","dynamodb:getitem"],
        "Resource":["{ARN}/index/*","{ARN}"],
        "Condition":{{"StringEquals":{{"aws:PrincipalAccount":["111122223333"],"aws:UserId":["a","b"]}}}}}}]}}"#
    );
    assert_eq!(
        canon(&sent),
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":["dynamodb:Query","dynamodb:GetItem","dynamodb:GetItem","dynamodb:getitem"],"Resource":["{ARN}/index/*","{ARN}"],"Condition":{{"StringEquals":{{"aws:PrincipalAccount":"111122223333","aws:UserId":["a","b"]}}}}}}]}}"#
        )
    );
}

#[test]
fn principals_are_rewritten_and_de_duplicated() {
    // DDB-TABLE-352: the same principal twice (as an id and as its root ARN) is one string.
    let sent = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:root"]},"Action":"a","Resource":"*"}]}"#;
    assert_eq!(
        canon(sent),
        r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"a","Resource":"*"}]}"#
    );
    // Two principals stay a list, in order; ids that are not 12 digits are left alone, and
    // other principal types are only de-duplicated.
    let sent = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":["s.amazonaws.com","s.amazonaws.com"],"AWS":["444455556666","12345","111122223333"]},"Action":"a","Resource":"*"}]}"#;
    assert_eq!(
        canon(sent),
        r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"s.amazonaws.com","AWS":["arn:aws:iam::444455556666:root","12345","arn:aws:iam::111122223333:root"]},"Action":"a","Resource":"*"}]}"#
    );
}

#[test]
fn lenient_parsing_is_canonicalised() {
    // DDB-TABLE-355: a Statement object, a lowercase Effect, escapes, no synthetic Sid.
    let sent = "{\"Statement\":{\"Sid\":\"V15\\u0045sc\",\"Effect\":\"allow\",\"Principal\":{\"AWS\":\"111122223333\"},\"Action\":\"a\",\"Resource\":\"*\"}}";
    assert_eq!(
        canon(sent),
        r#"{"Statement":[{"Sid":"V15Esc","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"a","Resource":"*"}]}"#
    );
    let deny = r#"{"Statement":{"Effect":"DENY","Principal":"*","Action":"a","Resource":"*"}}"#;
    assert_eq!(
        canon(deny),
        r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"a","Resource":"*"}]}"#
    );
    // Strings keep what JSON must escape, and nothing else.
    let sent = r#"{"Statement":[{"Sid":"q\"b\\s/é","Effect":"Deny","Principal":"*","Action":"a","Resource":"*"}]}"#;
    assert_eq!(canon(sent), sent);
}

#[test]
fn whitespace_counts_toward_the_size_limit() {
    // DDB-TABLE-211: 19,456 padded bytes are accepted (and shrink), 21,504 are not.
    let body = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"dynamodb:GetItem","Resource":"*"}]}"#;
    let pad = |total: usize| format!("{}{}", " ".repeat(total - body.len()), body);
    assert!(canon(&pad(19_456)).len() < 200);
    assert_eq!(canon(&pad(MAX_POLICY_BYTES)), canon(body));
    assert_eq!(
        err(&pad(MAX_POLICY_BYTES + 1)),
        "One or more parameter values were invalid: Maximum policy size of 20480 bytes exceeded"
    );
    assert_eq!(
        err(&pad(21_504)),
        "One or more parameter values were invalid: Maximum policy size of 20480 bytes exceeded"
    );
}

#[test]
fn version_is_defaulted_only_when_read() {
    // DDB-TABLE-354.
    let bare = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"a","Resource":"*"}]}"#;
    let stored = canon(bare);
    assert!(!stored.contains("Version"));
    let shown = readable_policy(&stored);
    assert_eq!(
        shown,
        r#"{"Version":"2008-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"a","Resource":"*"}]}"#
    );
    assert_ne!(canon(&shown), stored);
    let with_id = canon(
        r#"{"Id":"x","Statement":[{"Effect":"Deny","Principal":"*","Action":"a","Resource":"*"}]}"#,
    );
    assert!(readable_policy(&with_id).starts_with(r#"{"Version":"2008-10-17","Id":"x","#));
    let versioned = canon(&shown);
    assert_eq!(readable_policy(&versioned), versioned);
    // A document stored as sent, before binderdb canonicalised.
    assert_eq!(
        readable_policy(r#" { "Statement": [] }"#),
        r#"{"Version":"2008-10-17", "Statement": [] }"#
    );
    assert_eq!(
        readable_policy(r#"{ "Version" : "2012-10-17", "Statement": [] }"#),
        r#"{ "Version" : "2012-10-17", "Statement": [] }"#
    );
}

#[test]
fn malformed_documents_keep_their_texts() {
    let invalid_json = format!("{PREFIX}This policy contains invalid Json");
    for document in ["nope", "", "[]", "1", "\"s\"", "{", r#"{"Statement":"x"}"#] {
        assert_eq!(err(document), invalid_json, "{document}");
    }
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert_eq!(err(&deep), invalid_json);
    assert_eq!(
        err("null"),
        format!("{PREFIX}This text appears not to be a policy")
    );
    assert_eq!(
        err("{}"),
        format!("{PREFIX}Missing required field Statement")
    );
    assert_eq!(
        err(r#"{"Statement": []}"#),
        format!("{PREFIX}Could not parse the policy: Statement is empty!")
    );
    assert_eq!(
        err(r#"{"Statement": [{}]}"#),
        format!("{PREFIX}Missing required field Effect")
    );
    assert_eq!(
        err(r#"{"Statement": [7]}"#),
        format!("{PREFIX}Missing required field Effect")
    );
    // DDB-TABLE-211.
    assert_eq!(
        err(
            r#"{"Statement": [{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"a"}]}"#
        ),
        format!("{PREFIX}Missing required field Resource")
    );
}

#[test]
fn a_bare_principal_is_a_syntax_error_at_its_position() {
    // DDB-TABLE-352/356: a bare account id instead of {"AWS": id}.
    let sent = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AckqAllowRead","Effect":"Allow","Principal":"111122223333","Action":"a","Resource":"*"}]}"#;
    assert_eq!(
        err(sent),
        format!("{PREFIX}Syntax error at position (1,90)")
    );
    let sent = "{\n  \"Statement\": [{\"Effect\": \"Deny\",\n    \"NotPrincipal\": [\"é\"], \"Action\": \"a\"}]\n}";
    assert_eq!(
        err(sent),
        format!("{PREFIX}Syntax error at position (3,21)")
    );
    // Before the missing fields of an earlier statement.
    let sent = r#"{"Statement":[{},{"Effect":"Allow","Principal":5}]}"#;
    assert_eq!(
        err(sent),
        format!("{PREFIX}Syntax error at position (1,48)")
    );
}

#[test]
fn statement_ids_must_be_unique() {
    // DDB-TABLE-356.
    let s = r#"{"Sid":"A","Effect":"Deny","Principal":"*","Action":"a","Resource":"*"}"#;
    let other = r#"{"Sid":"B","Effect":"Deny","Principal":"*","Action":"a","Resource":"*"}"#;
    assert_eq!(
        err(&format!(r#"{{"Statement":[{s},{other},{s}]}}"#)),
        format!("{PREFIX}The Statement Ids in the policy are not unique")
    );
    let unnamed = r#"{"Effect":"Deny","Principal":"*","Action":"a","Resource":"*"}"#;
    assert!(canonical_policy(&format!(r#"{{"Statement":[{unnamed},{unnamed},{s}]}}"#)).is_ok());
}

#[test]
fn allow_to_everyone_is_refused_unless_a_condition_bounds_it() {
    // DDB-TABLE-352/356.
    let unbounded = "Resource-based policy grants unbounded access in one or more elements. \
                     Please revise the policy to ensure least-privilege form of access";
    let statement = |effect: &str, principal: &str, condition: &str| {
        format!(
            r#"{{"Statement":[{{"Effect":"{effect}","Principal":{principal},"Action":"dynamodb:GetItem","Resource":"*"{condition}}}]}}"#
        )
    };
    for principal in [
        r#""*""#,
        r#"{"AWS":"*"}"#,
        r#"{"AWS":["111122223333","*"]}"#,
    ] {
        assert_eq!(err(&statement("Allow", principal, "")), unbounded);
        assert_eq!(err(&statement("allow", principal, "")), unbounded);
        assert!(canonical_policy(&statement("Deny", principal, "")).is_ok());
    }
    let bounded = r#","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}"#;
    assert!(canonical_policy(&statement("Allow", r#""*""#, bounded)).is_ok());
    let service = r#","Condition":{"Bool":{"aws:PrincipalIsAWSService":"true"}}"#;
    assert!(canonical_policy(&statement("Allow", r#""*""#, service)).is_ok());
    for loose in [
        r#","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}"#,
        r#","Condition":{"StringLike":{"aws:PrincipalAccount":"1111*"}}"#,
        r#","Condition":{"StringEquals":{"aws:PrincipalAccount":"${aws:username}"}}"#,
        r#","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}"#,
        r#","Condition":{"Bool":{"aws:PrincipalIsAWSService":"false"}}"#,
    ] {
        assert_eq!(
            err(&statement("Allow", r#""*""#, loose)),
            unbounded,
            "{loose}"
        );
    }
    // The syntax and document checks come first.
    let sent = r#"{"Statement":[{"Sid":"A","Effect":"Allow","Principal":"*","Action":"a","Resource":"*"},{"Sid":"A","Effect":"Deny","Principal":"*","Action":"a","Resource":"*"}]}"#;
    assert_eq!(
        err(sent),
        format!("{PREFIX}The Statement Ids in the policy are not unique")
    );
}

#[test]
fn numbers_and_repeated_members_survive() {
    let sent = r#"{"Statement":[{"Effect":"Deny","Effect":"Deny","Principal":"*","Action":"a","Resource":"*","Condition":{"NumericLessThan":{"k":[1.50,2e3]},"Null":{"n":null,"b":false}}}]}"#;
    assert_eq!(
        canon(sent),
        r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"a","Resource":"*","Condition":{"NumericLessThan":{"k":[1.50,2e3]},"Null":{"n":null,"b":false}}}]}"#
    );
}
