//! `search`: the query subset tools use (spec/portal-api.md, section Search): `field:value` and
//! `field:"a phrase"` for `id`, `owner`, `orgid`/`accountid`, `type`, `typekeywords`, `group`,
//! `title`, `tags`, `access`; bare terms and phrases (title, tags, snippet, type); `AND`, `OR`,
//! `NOT`, `-term`, parentheses. Terms side by side are joined with AND (the portal's default here
//! is not confirmed by the reference).

use axum::response::Response;
use serde_json::Value;

use super::auth::internal;
use super::content::{can_read, page};
use super::{Call, error};
use crate::store::StoredItem;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Query {
    Term(Option<String>, String),
    And(Box<Query>, Box<Query>),
    Or(Box<Query>, Box<Query>),
    Not(Box<Query>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Open,
    Close,
}

fn tokenize(q: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut out);
                out.push(Token::Open);
            }
            ')' => {
                flush(&mut word, &mut out);
                out.push(Token::Close);
            }
            '"' => {
                // A phrase: kept whole, quotes included, so `title:"a b"` stays one word.
                word.push('"');
                for d in chars.by_ref() {
                    word.push(d);
                    if d == '"' {
                        break;
                    }
                }
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn or(&mut self) -> Option<Query> {
        let mut left = self.and()?;
        while self.peek_word() == Some("OR") {
            self.at += 1;
            let right = self.and()?;
            left = Query::Or(Box::new(left), Box::new(right));
        }
        Some(left)
    }

    fn and(&mut self) -> Option<Query> {
        let mut left = self.unary()?;
        loop {
            match self.tokens.get(self.at) {
                None | Some(Token::Close) => return Some(left),
                Some(Token::Word(w)) if w == "OR" => return Some(left),
                Some(Token::Word(w)) if w == "AND" => self.at += 1,
                _ => {}
            }
            let right = self.unary()?;
            left = Query::And(Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Option<Query> {
        match self.tokens.get(self.at)?.clone() {
            Token::Open => {
                self.at += 1;
                let inner = self.or()?;
                if self.tokens.get(self.at) == Some(&Token::Close) {
                    self.at += 1;
                }
                Some(inner)
            }
            Token::Close => None,
            Token::Word(w) if w == "NOT" => {
                self.at += 1;
                Some(Query::Not(Box::new(self.unary()?)))
            }
            Token::Word(w) => {
                self.at += 1;
                let (negated, w) = match w.strip_prefix('-').filter(|r| !r.is_empty()) {
                    Some(rest) => (true, rest.to_owned()),
                    None => (false, w),
                };
                let q = match w
                    .strip_suffix(':')
                    .filter(|f| !f.is_empty() && !w.starts_with('"'))
                {
                    // `field: value` (a space after the colon, as Lucene allows) and
                    // `field:(a OR b)`: the field applies to what follows.
                    Some(field) => match self.tokens.get(self.at)?.clone() {
                        Token::Word(v) if !matches!(v.as_str(), "AND" | "OR" | "NOT") => {
                            self.at += 1;
                            term(&format!("{field}:{v}"))
                        }
                        Token::Open => {
                            let inner = self.unary()?;
                            with_field(inner, &field.to_ascii_lowercase())
                        }
                        _ => return None,
                    },
                    None => term(&w),
                };
                Some(if negated { Query::Not(Box::new(q)) } else { q })
            }
        }
    }
}

/// `field:(…)`: the terms inside that name no field take `field`.
fn with_field(q: Query, field: &str) -> Query {
    match q {
        Query::Term(None, v) => Query::Term(Some(field.to_owned()), v),
        Query::Term(..) => q,
        Query::And(a, b) => Query::And(
            Box::new(with_field(*a, field)),
            Box::new(with_field(*b, field)),
        ),
        Query::Or(a, b) => Query::Or(
            Box::new(with_field(*a, field)),
            Box::new(with_field(*b, field)),
        ),
        Query::Not(a) => Query::Not(Box::new(with_field(*a, field))),
    }
}

/// Parse `q`, or the portal's error for what cannot be parsed.
pub(super) fn parse(q: &str) -> Result<Query, Response> {
    let mut parser = Parser {
        tokens: tokenize(q),
        at: 0,
    };
    match parser.or() {
        Some(query) if parser.at == parser.tokens.len() => Ok(query),
        _ => Err(error(
            400,
            &format!("Unable to parse the query '{q}'."),
            &[],
        )),
    }
}

impl Query {
    /// Whether the query holds, given whether one term holds (`term(field, value)`, the field
    /// lower-case, `None` for a bare term).
    pub(super) fn eval(&self, term: &impl Fn(Option<&str>, &str) -> bool) -> bool {
        match self {
            Query::And(a, b) => a.eval(term) && b.eval(term),
            Query::Or(a, b) => a.eval(term) || b.eval(term),
            Query::Not(a) => !a.eval(term),
            Query::Term(field, value) => term(field.as_deref(), value),
        }
    }
}

fn term(word: &str) -> Query {
    let unquote = |s: &str| s.trim_matches('"').to_owned();
    match word.split_once(':') {
        Some((field, value)) if !field.starts_with('"') => {
            Query::Term(Some(field.to_ascii_lowercase()), unquote(value))
        }
        _ => Query::Term(None, unquote(word)),
    }
}

fn matches(query: &Query, item: &StoredItem) -> bool {
    let json = &item.json;
    let text = |key: &str| {
        json.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let list = |key: &str| -> Vec<String> {
        json.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let contains = |hay: &str, needle: &str| glob(hay, needle, false);
    let equals = |hay: &str, pattern: &str| glob(hay, pattern, true);
    query.eval(&|field, value| match field {
        Some("id") => equals(&text("id"), value),
        Some("owner") => equals(&text("owner"), value),
        Some("orgid" | "accountid") => text("orgId") == *value,
        Some("type") => equals(&text("type"), value),
        Some("typekeywords") => list("typeKeywords").iter().any(|k| equals(k, value)),
        Some("tags") => list("tags").iter().any(|k| equals(k, value)),
        Some("group") => item.groups.iter().any(|g| g == value),
        Some("title") => contains(&text("title"), value),
        Some("access") => equals(&text("access"), value),
        Some(_) => false,
        None => {
            contains(&text("title"), value)
                || contains(&text("snippet"), value)
                || contains(&text("type"), value)
                || list("tags").iter().any(|t| contains(t, value))
        }
    })
}

/// Whether `hay` matches `pattern`, case-insensitively: the whole of it when `whole`, else
/// anywhere in it. `*` in the pattern stands for any run of characters, so `*` alone matches
/// everything and `Park*` what starts with "Park", as the portal's Lucene syntax has it.
pub(super) fn glob(hay: &str, pattern: &str, whole: bool) -> bool {
    let hay = hay.to_lowercase();
    let pattern = pattern.to_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return if whole {
            hay == pattern
        } else {
            hay.contains(&pattern)
        };
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if whole && !(hay.starts_with(first) && hay.len() >= first.len() + last.len()) {
        return false;
    }
    let mut rest = if whole { &hay[first.len()..] } else { &hay[..] };
    for (i, part) in parts.iter().enumerate() {
        if whole && i == 0 {
            continue;
        }
        if whole && i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// `community/groups?q=`: the groups the caller may see that match `q` (same syntax; `id`,
/// `owner`, `title`, `tags`, `access` and bare terms apply), paged, sorted by title.
pub(super) fn search_groups(call: &Call) -> Result<Response, Response> {
    let q = call.params.get("q").unwrap_or("*");
    let query = if q == "*" { None } else { Some(parse(q)?) };
    let mut found = Vec::new();
    for group in call.shared.store.groups(&call.org).map_err(internal)? {
        let id = group
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let as_item = StoredItem {
            owner: group
                .get("owner")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            json: group,
            folder: None,
            groups: Vec::new(),
        };
        if query.as_ref().is_none_or(|q| matches(q, &as_item))
            && super::groups::visible_group(call, &id)?.is_some()
        {
            found.push(as_item.json);
        }
    }
    found.sort_by_key(|g| {
        g.get("title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase()
    });
    Ok(call.reply(&super::content::page(&call.params, &found, "results")))
}

/// `search`: the items the caller may see that match `q`, paged and sorted.
pub(super) fn search(call: &Call) -> Result<Response, Response> {
    let Some(q) = call.params.get("q") else {
        return Err(error(
            400,
            "'q' or 'bbox' or 'categories' must be specified.",
            &[],
        ));
    };
    let query = parse(q)?;
    let mut found: Vec<StoredItem> = Vec::new();
    for item in call.shared.store.items(&call.org).map_err(internal)? {
        if matches(&query, &item) && can_read(call, &item)? {
            found.push(item);
        }
    }
    let field = call
        .params
        .get("sortField")
        .unwrap_or("created")
        .to_ascii_lowercase();
    let key = |i: &StoredItem| -> (String, i64) {
        let v = &i.json;
        match field.as_str() {
            "title" | "type" | "owner" => (
                v.get(field.as_str())
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase(),
                0,
            ),
            "modified" => (
                String::new(),
                v.get("modified").and_then(Value::as_i64).unwrap_or(0),
            ),
            _ => (
                String::new(),
                v.get("created").and_then(Value::as_i64).unwrap_or(0),
            ),
        }
    };
    found.sort_by(|a, b| {
        key(a)
            .cmp(&key(b))
            .then_with(|| a.json["id"].as_str().cmp(&b.json["id"].as_str()))
    });
    if call.params.get("sortOrder") == Some("desc") {
        found.reverse();
    }
    let mut v = page(
        &call.params,
        &found.into_iter().map(|i| i.json).collect::<Vec<_>>(),
        "results",
    );
    v.as_object_mut()
        .expect("object")
        .insert("query".into(), Value::String(q.to_owned()));
    Ok(call.reply(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Query {
        super::parse(q).unwrap()
    }

    #[test]
    fn a_field_may_be_followed_by_a_space_or_a_group() {
        let term = |f: &str, v: &str| Query::Term(Some(f.into()), v.into());
        assert_eq!(
            parse("id: abc AND group: g1"),
            Query::And(Box::new(term("id", "abc")), Box::new(term("group", "g1")))
        );
        assert_eq!(parse(r#"title: "Parcel map""#), term("title", "Parcel map"));
        assert_eq!(
            parse("owner:(ann OR bob)"),
            Query::Or(
                Box::new(term("owner", "ann")),
                Box::new(term("owner", "bob"))
            )
        );
        assert_eq!(
            parse("-owner: ann"),
            Query::Not(Box::new(term("owner", "ann")))
        );
        assert!(super::parse("id: AND x").is_err(), "a field with no value");
        assert!(
            super::parse("(a OR b").is_ok(),
            "an unclosed group closes at the end"
        );
        assert!(super::parse("a) b").is_err(), "a stray closing parenthesis");
    }

    #[test]
    fn precedence_phrases_and_negation() {
        assert_eq!(
            parse(r#"owner:ann AND title:"Parcel map""#),
            Query::And(
                Box::new(Query::Term(Some("owner".into()), "ann".into())),
                Box::new(Query::Term(Some("title".into()), "Parcel map".into()))
            )
        );
        let q = parse("type:\"Web Map\" OR type:Dashboard -tags:draft");
        assert!(
            matches!(q, Query::Or(_, _)),
            "AND binds tighter than OR: {q:?}"
        );
        assert!(matches!(parse("NOT owner:bob"), Query::Not(_)));
        assert!(matches!(parse("(a OR b) c"), Query::And(_, _)));
    }

    #[test]
    fn wildcards() {
        assert!(glob("Parcels", "*", true));
        assert!(glob("Parcels", "par*", true));
        assert!(!glob("Parcels", "arc*", true));
        assert!(glob("Parcels", "arc*", false));
        assert!(glob("Parcels", "p*ls", true));
        assert!(!glob("Parcels", "p*lsx", true));
        assert!(
            !glob("ab", "ab*b", true),
            "the prefix and suffix may not overlap"
        );
        assert!(glob("Web Map", "web map", true));
        assert!(!glob("Web Mapping Application", "web map", true));
    }
}
